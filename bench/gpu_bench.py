"""GPU training-step times of mlp-large and cnn: dchain (CuPy) beside PyTorch on the same GPU.

    python bench/gpu_bench.py [--steps 50] [--json out.json]

Each framework trains the same architecture on random MNIST-shaped data; a step is forward,
backward and optimizer update, timed after a warm-up with the device synchronized. Runs
alternate between frameworks and the medians are reported. PyTorch is optional.
"""
import argparse
import json
import statistics
import sys
import time

import numpy

ROWS = {
    'mlp-large': dict(batch=100, optimizer='adam'),
    'cnn': dict(batch=64, optimizer='momentum'),
}


def dchain_step(row):
    import cupy
    import dchain
    import dchain.functions as F
    import dchain.links as L
    from dchain import optimizers

    dchain.random.seed(0)
    if row == 'mlp-large':
        model = dchain.Sequential(L.Linear(784, 1000), F.relu, L.Linear(1000, 1000), F.relu,
                                  L.Linear(1000, 10))
        x = cupy.random.rand(100, 784, dtype=numpy.float32)
        optimizer = optimizers.Adam()
    else:
        model = dchain.Sequential(
            L.Convolution2D(1, 20, 5), F.relu, lambda h: F.max_pooling_2d(h, 2),
            L.Convolution2D(20, 50, 5), F.relu, lambda h: F.max_pooling_2d(h, 2),
            L.Linear(800, 500), F.relu, L.Linear(500, 10))
        x = cupy.random.rand(64, 1, 28, 28, dtype=numpy.float32)
        optimizer = optimizers.MomentumSGD()
    model.to_device('@cupy:0')
    optimizer.setup(model)
    t = cupy.random.randint(0, 10, len(x)).astype(numpy.int32)

    def step():
        optimizer.update(lambda: F.softmax_cross_entropy(model(x), t))
    return step, cupy.cuda.Device().synchronize


def torch_step(row):
    import torch
    device = torch.device('cuda')
    torch.manual_seed(0)
    if row == 'mlp-large':
        model = torch.nn.Sequential(torch.nn.Linear(784, 1000), torch.nn.ReLU(),
                                    torch.nn.Linear(1000, 1000), torch.nn.ReLU(),
                                    torch.nn.Linear(1000, 10)).to(device)
        x = torch.rand(100, 784, device=device)
        optimizer = torch.optim.Adam(model.parameters())
    else:
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 20, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(20, 50, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(800, 500), torch.nn.ReLU(),
            torch.nn.Linear(500, 10)).to(device)
        x = torch.rand(64, 1, 28, 28, device=device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    t = torch.randint(0, 10, (len(x),), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), t).backward()
        optimizer.step()
    return step, torch.cuda.synchronize


def time_steps(make, row, steps, warmup=10):
    step, synchronize = make(row)
    for _ in range(warmup):
        step()
    synchronize()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=50)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json', default=None, help='also write the results here')
    args = parser.parse_args(argv)
    frameworks = {'dchain': dchain_step}
    try:
        import torch
        if torch.cuda.is_available():
            frameworks['pytorch'] = torch_step
        else:
            print('PyTorch sees no GPU: dchain alone')
    except ImportError:
        print('PyTorch is not installed: dchain alone')
    results = {}
    for row in ROWS:
        samples = {name: [] for name in frameworks}
        for _ in range(args.repeats):
            for name, make in frameworks.items():
                samples[name].append(time_steps(make, row, args.steps))
        results[row] = {name: statistics.median(values) * 1e3 for name, values in samples.items()}
    print('{:<10} {:>12} {:>12} {:>8}'.format('row', 'dchain ms', 'pytorch ms', 'ratio'))
    for row, times in results.items():
        torch_ms = times.get('pytorch')
        print('{:<10} {:>12.3f} {:>12} {:>8}'.format(
            row, times['dchain'], '-' if torch_ms is None else '{:.3f}'.format(torch_ms),
            '-' if torch_ms is None else '{:.2f}'.format(times['dchain'] / torch_ms)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
