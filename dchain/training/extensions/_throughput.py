"""How many examples all ranks together have read: for samples/sec in ProgressBar and
PrintReport, computed from the main iterator alone (no collective, so an extension that runs
on rank 0 only stays out of the other ranks' way)."""


def samples_seen(trainer):
    """Examples read so far by all ranks together, or None when it cannot be told.

    A ShardedIterator counts global batches (its position is over the whole dataset); any
    other iterator counts this rank's examples, multiplied by the number of ranks of the
    main optimizer's communicator (1 without one).
    """
    updater = trainer.updater
    get_iterator = getattr(updater, 'get_iterator', None)
    try:
        iterator = get_iterator('main') if get_iterator is not None else None
        size = len(iterator.dataset)
        detail = float(iterator.epoch_detail)
    except (AttributeError, KeyError, TypeError):
        return None
    samples = detail * size
    if getattr(iterator, 'comm', None) is not None:  # global positions already
        return samples
    try:
        optimizer = updater.get_optimizer('main')
    except (AttributeError, KeyError):
        optimizer = None
    comm = getattr(optimizer, 'communicator', None)
    return samples * getattr(comm, 'size', 1)
