"""Evaluator: run the model over a validation set and report the averaged observations."""
import copy
import warnings

from dchain import reporter as reporter_module
from dchain.config import no_backprop_mode, using_config
from dchain.dataset import call_converter, concat_examples
from dchain.training import extension


class Evaluator(extension.Extension):
    """Evaluate ``target`` on every batch of ``iterator`` and report the means.

    The iterator is reset (or, lacking ``reset``, copied) before each evaluation, so it must
    not repeat (``repeat=False``). Batches run with ``config.train = False`` and without
    backprop. Each batch's reported values are weighted by its number of examples, so a
    short last batch counts for what it holds. Reported keys gain this extension's name as a
    prefix: the model's ``loss`` becomes ``validation/main/loss``.

    Args:
        iterator: an Iterator, or a dict of them ('main' is used by ``evaluate``).
        target: a Link, or a dict of them ('main' is called by ``evaluate``).
        converter: ``converter(batch, device)`` -> arrays; device as a Device for a
            ``Converter`` (``@dataset.converter()``), as -1 or a GPU id for a plain
            function, as Chainer's legacy converters expect (see ``call_converter``).
        device: the device given to the converter.
        eval_hook: called with this extension before each evaluation.
        eval_func: called on each batch instead of the 'main' target.
    """

    trigger = 1, 'epoch'
    default_name = 'validation'
    priority = extension.PRIORITY_WRITER
    name = None

    def __init__(self, iterator, target, converter=concat_examples, device=None,
                 eval_hook=None, eval_func=None):
        self._iterators = iterator if isinstance(iterator, dict) else {'main': iterator}
        self._targets = target if isinstance(target, dict) else {'main': target}
        for what, registry in (('iterator', self._iterators), ('target', self._targets)):
            if 'main' not in registry:
                raise ValueError("Evaluator: a dict of {0}s must have a 'main' {0}, got keys {1}"
                                 .format(what, sorted(registry)))
        self.converter = converter
        self.device = device
        self.eval_hook = eval_hook
        self.eval_func = eval_func

    def get_iterator(self, name):
        """The iterator registered as ``name``."""
        return self._iterators[name]

    def get_all_iterators(self):
        """A new dict of every iterator by name."""
        return dict(self._iterators)

    def get_target(self, name):
        """The link registered as ``name``."""
        return self._targets[name]

    def get_all_targets(self):
        """A new dict of every link by name."""
        return dict(self._targets)

    def __call__(self, trainer=None):
        """Evaluate, report the results to the current reporter and return them (a dict)."""
        reporter = reporter_module.Reporter()
        prefix = '' if self.name is None else self.name + '/'
        for name, target in self._targets.items():
            reporter.add_observer(prefix + name, target)
            reporter.add_observers(prefix + name, target.namedlinks(skipself=True))
        with reporter, using_config('train', False):
            result = self.evaluate()
        reporter_module.report(result)
        return result

    def evaluate(self):
        """Run over the 'main' iterator once; return the sample-weighted mean of each
        reported scalar."""
        return self.summarize().compute_mean()

    def summarize(self):
        """Run over the 'main' iterator once; return the DictSummary of the reported scalars,
        each batch weighted by its number of examples (empty batches are skipped)."""
        iterator = self._iterators['main']
        eval_func = self.eval_func or self._targets['main']
        if self.eval_hook is not None:
            self.eval_hook(self)
        if hasattr(iterator, 'reset'):
            iterator.reset()
            batches = iterator
        else:
            warnings.warn('Evaluator: the iterator has no reset(); evaluating a shallow copy',
                          stacklevel=2)
            batches = copy.copy(iterator)
        summary = reporter_module.DictSummary()
        for batch in batches:
            if len(batch) == 0:
                continue  # a rank's share of a short global batch can be empty
            observation = {}
            with reporter_module.report_scope(observation), no_backprop_mode():
                in_arrays = call_converter(self.converter, batch, self.device)
                if isinstance(in_arrays, tuple):
                    eval_func(*in_arrays)
                elif isinstance(in_arrays, dict):
                    eval_func(**in_arrays)
                else:
                    eval_func(in_arrays)
            weight = len(batch)
            summary.add({key: (value, weight) for key, value in observation.items()})
        return summary

    def finalize(self):
        """Finalize every iterator."""
        for iterator in self._iterators.values():
            finalize = getattr(iterator, 'finalize', None)
            if finalize is not None:
                finalize()
