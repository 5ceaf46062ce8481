"""AllreducePersistent: average a model's persistent values (BN statistics) over the ranks."""
import numpy

from dchain import backend
from dchain.training.extension import PRIORITY_WRITER, Extension


class AllreducePersistent(Extension):
    """A trainer extension that replaces every floating-point persistent array of ``model``
    (e.g. BatchNormalization's ``avg_mean`` and ``avg_var``) by its mean over the ranks
    (ChainerMN's extension).

    With plain BatchNormalization each rank's running statistics follow its own shares of
    the batches; averaging them, e.g. before evaluation or before rank 0 saves the model,
    gives every rank the same statistics. (MultiNodeBatchNormalization keeps them equal
    already.) Integer persistents (BN's fine-tuning count ``N``) are left alone.

    A collective: every rank must run it (the default trigger is every epoch), and it works
    as well called directly: ``AllreducePersistent(model, comm)()``. The arrays of one dtype
    travel in one allreduce.

    Args:
        model: the link whose persistent values are averaged.
        comm: a dchain.distributed communicator.
    """

    trigger = 1, 'epoch'
    # Before the readers (evaluators) and writers (snapshots) of the same iteration.
    priority = PRIORITY_WRITER + 1

    def __init__(self, model, comm):
        self.model = model
        self.comm = comm

    def __call__(self, trainer=None):
        if self.comm.size == 1:
            return
        values = []
        for path, link in sorted(self.model.namedlinks(), key=lambda item: item[0]):
            for name in sorted(link._persistent):
                value = link.__dict__[name]
                if _is_float_array(value):
                    values.append(('{}/{}'.format(path.rstrip('/'), name), value))
        # Every rank must average the same arrays: a statistic not created yet on some rank
        # (a lazily sized BN that saw no sample) is an error, not a different collective.
        layout = [(path, value.shape, value.dtype.str) for path, value in values]
        self.comm.check_same('AllreducePersistent', **{'persistent arrays': layout})
        by_dtype = {}
        for _, value in values:
            by_dtype.setdefault((value.dtype.str, backend.is_gpu_array(value)), []).append(value)
        for key in sorted(by_dtype):
            arrays = by_dtype[key]
            xp = backend.get_array_module(arrays[0])
            flat = xp.concatenate([a.reshape(-1) for a in arrays])
            self.comm.allreduce_inplace(flat, 'mean')
            start = 0
            for array in arrays:
                array[...] = flat[start:start + array.size].reshape(array.shape)
                start += array.size


def _is_float_array(value):
    return (isinstance(value, numpy.ndarray) or backend.is_gpu_array(value)) and \
        value.dtype.kind == 'f'
