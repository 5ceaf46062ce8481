"""create_multi_node_evaluator: an Evaluator whose results cover every rank's examples."""
from dchain.distributed.iterators import ShardedIterator, check_same_sharding
from dchain.training.extensions.evaluator import Evaluator


def create_multi_node_evaluator(actual_evaluator, communicator):
    """Make ``actual_evaluator`` (an ``extensions.Evaluator``) aggregate over ranks.

    Each rank evaluates its own examples (e.g. its shard from a ShardedIterator); the results
    are combined weighted by each rank's number of examples, so they equal a single-process
    evaluation of all the data. Every rank gets the same result. Returns the evaluator.

    A collective: every rank calls it, and every rank's iterators must agree (a
    ShardedIterator: dataset length, global batch size, seed, shuffle; another iterator over
    the rank's own part: its batch size), else a ValueError on every rank.

    An evaluator whose class overrides ``evaluate()`` (its own loop, e.g. a BLEU score over
    its own data, as Chainer programs often write) keeps it: each rank runs it, and each
    result is the mean over the ranks that reported it, every rank weighing the same (no
    example counts are known), as in ChainerMN.
    """
    for name, iterator in sorted(actual_evaluator.get_all_iterators().items()):
        label = 'create_multi_node_evaluator (iterator {!r})'.format(name)
        if isinstance(iterator, ShardedIterator):
            check_same_sharding(label, iterator)
        else:
            # Each rank iterates its own part (scatter_dataset): the lengths may differ.
            communicator.check_same(label, **{'batch size': getattr(iterator, 'batch_size',
                                                                    None)})
    if type(actual_evaluator).evaluate is not Evaluator.evaluate:
        _combine_own_evaluate(actual_evaluator, communicator)
        return actual_evaluator
    summarize = actual_evaluator.summarize

    def evaluate():
        summary = summarize()
        mine = {key: (s.total, s.weight) for key, s in summary.summaries.items()}
        totals = {}
        for theirs in communicator.allgather_obj(mine):
            for key, (total, weight) in theirs.items():
                old_total, old_weight = totals.get(key, (0.0, 0.0))
                totals[key] = (old_total + total, old_weight + weight)
        return {key: (total / weight if weight else float('nan'))
                for key, (total, weight) in sorted(totals.items())}

    actual_evaluator.evaluate = evaluate
    actual_evaluator.communicator = communicator
    return actual_evaluator


def _combine_own_evaluate(actual_evaluator, communicator):
    own_evaluate = actual_evaluator.evaluate

    def evaluate():
        totals = {}
        for theirs in communicator.allgather_obj(dict(own_evaluate())):
            for key, value in theirs.items():
                total, count = totals.get(key, (0.0, 0))
                totals[key] = (total + value, count + 1)
        return {key: total / count for key, (total, count) in sorted(totals.items())}

    actual_evaluator.evaluate = evaluate
    actual_evaluator.communicator = communicator
