"""Which device a rank trains on: GPU ``intra_rank`` of its node, or the CPU."""
import numbers

from dchain import backend


def _wants_gpu(spec):
    if spec in ('gpu', 'cuda', '@cupy'):
        return True
    if isinstance(spec, str) and spec.startswith('@cupy:'):
        return True
    if isinstance(spec, str) and spec.lstrip('-').isdigit():
        spec = int(spec)
    return isinstance(spec, numbers.Integral) and not isinstance(spec, bool) and spec >= 0


def rank_device(comm, spec='auto', allow_shared_gpu=False):
    """Return (and make current) the Device this rank should use.

    Args:
        comm: a dchain.distributed communicator.
        spec: ``'@numpy'``/``-1``/``'cpu'`` for the CPU; a GPU spec (``'gpu'``, ``'@cupy'``,
            ``'@cupy:N'``, ``N >= 0``) for a GPU; ``'auto'`` for a GPU when CuPy sees one, else
            the CPU. With one process, ``'@cupy:N'``/``N`` is GPU N; with several ranks every
            GPU spec is rank-relative: rank r uses GPU ``intra_rank`` of its node.
        allow_shared_gpu: allow more ranks on a node than it has GPUs (ranks then share GPUs
            round-robin); otherwise that is an error.
    """
    if spec == 'auto':
        spec = 'gpu' if backend.is_available() else '@numpy'
    if not _wants_gpu(spec):
        return backend.get_device(None if spec == 'cpu' else spec)
    if comm.size == 1 and spec not in ('gpu', 'cuda', '@cupy'):
        device = backend.get_device(spec)
    else:
        cupy = backend._require_cupy('rank_device({!r})'.format(spec))
        count = cupy.cuda.runtime.getDeviceCount()
        if count == 0:
            raise RuntimeError('rank_device: a GPU was asked for but CUDA sees none')
        if comm.intra_size > count and not allow_shared_gpu:
            raise RuntimeError(
                'rank_device: {} ranks on this node but only {} GPU(s); launch at most {} ranks '
                'per node, or pass allow_shared_gpu=True (--allow-shared-gpu) to share them'
                .format(comm.intra_size, count, count))
        device = backend.get_device(comm.intra_rank % count)
    device.use()
    return device
