"""The PyTorch (eager, CPU) worker (see protocol.py). dp-2 is DistributedDataParallel over
gloo, the CPU backend, with the ranks and the rendezvous port from the runner."""
import os
import sys

import protocol  # sets the thread variables before NumPy and torch load

import numpy
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set in this process
    pass


def info():
    return {'framework': 'pytorch', 'version': torch.__version__,
            'numpy': numpy.__version__, 'python': sys.version.split()[0]}


def make_model(row):
    if row == 'cnn':
        return nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
    sizes = protocol.MLP_ROWS['mlp-large' if row.startswith('dp') else row]['sizes']
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def make_optimizer(model, row):
    if row == 'cnn':
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return torch.optim.Adam(model.parameters())


def train_step(model, optimizer, x, t):
    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), t).backward()
        optimizer.step()
    return step


def build(row):
    torch.manual_seed(0)
    x, t = protocol.random_data(numpy, row)
    x, t = torch.from_numpy(x), torch.from_numpy(t).long()
    model = make_model(row)
    spec = protocol.MLP_ROWS.get(row, protocol.CNN_ROW)
    if spec['optimizer'] is None:
        def step():
            model.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), t).backward()
        return step
    return train_step(model, make_optimizer(model, row), x, t)


def dp(mpi_comm, MPI):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    torch.manual_seed(0)
    rank, size = mpi_comm.Get_rank(), mpi_comm.Get_size()
    dist.init_process_group('gloo', rank=rank, world_size=size, init_method='tcp://127.0.0.1:{}'
                            .format(os.environ.get('BENCH_TORCH_PORT', '29531')))
    x, t = protocol.random_data(numpy, 'dp-2')
    x, t = torch.from_numpy(x), torch.from_numpy(t).long()
    model = DistributedDataParallel(make_model('dp-2'))
    alone = make_model('dp-2')
    one_rank = train_step(alone, torch.optim.Adam(alone.parameters()), x, t)
    buffer = torch.ones(protocol.MLP_LARGE_PARAMS)

    def allreduce():
        dist.all_reduce(buffer)
    return {
        'two_ranks': train_step(model, torch.optim.Adam(model.parameters()), x, t),
        'one_rank': one_rank if rank == 0 else None,
        'one_rank_each': one_rank,
        'allreduce_gloo': allreduce,
    }


if __name__ == '__main__':
    protocol.main(build, info, dp)
