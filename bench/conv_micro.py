"""Per-layer forward+backward times of the LeNet-style layers (batch 64, 1x28x28 inputs).

Run with one thread: ``OMP_NUM_THREADS=1 python bench/conv_micro.py``. Prints the best of
several repeats in milliseconds for each layer on its own.
"""
import time

import numpy

import dchain
import dchain.functions as F

N = 64


def best_ms(step, repeat=5, number=20):
    for _ in range(3):
        step()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            step()
        times.append((time.perf_counter() - start) / number)
    return min(times) * 1e3


def layer(func, x, params, x_needs_grad=True):
    x = dchain.Variable(x, requires_grad=x_needs_grad)
    params = [dchain.Variable(p) for p in params]

    def step():
        x.cleargrad()
        for p in params:
            p.cleargrad()
        y = func(x, *params)
        y.grad = numpy.ones_like(y.data)
        y.backward()
    return step


def lenet(rng):
    """The whole LeNet-style step: conv-relu-pool twice, linear-relu, linear, a softmax loss."""
    f32 = numpy.float32
    x = rng.standard_normal((N, 1, 28, 28)).astype(f32)
    onehot = numpy.eye(10, dtype=f32)[rng.integers(0, 10, N)]
    shapes = [(20, 1, 5, 5), (20,), (50, 20, 5, 5), (50,), (500, 800), (500,), (10, 500), (10,)]
    params = [dchain.Variable((rng.standard_normal(s) * 0.1).astype(f32)) for s in shapes]
    W1, b1, W2, b2, W3, b3, W4, b4 = params

    def step():
        for p in params:
            p.cleargrad()
        h = F.max_pooling_2d(F.relu(F.convolution_2d(x, W1, b1)), 2)
        h = F.max_pooling_2d(F.relu(F.convolution_2d(h, W2, b2)), 2)
        h = F.relu(F.linear(h, W3, b3))
        y = F.linear(h, W4, b4)
        loss = -F.sum(F.log_softmax(y) * onehot) * (1.0 / N)
        loss.backward()
    return step


def main():
    rng = numpy.random.default_rng(0)
    f32 = numpy.float32

    def normal(*shape):
        return rng.standard_normal(shape).astype(f32)

    cases = [
        ('conv1 1->20 5x5 on 28x28 (no gx)', lambda x, W, b: F.convolution_2d(x, W, b),
         normal(N, 1, 28, 28), [normal(20, 1, 5, 5), normal(20)], False),
        ('pool1 2x2 on 20x24x24', lambda x: F.max_pooling_2d(x, 2), normal(N, 20, 24, 24), [],
         True),
        ('conv2 20->50 5x5 on 12x12', lambda x, W, b: F.convolution_2d(x, W, b),
         normal(N, 20, 12, 12), [normal(50, 20, 5, 5), normal(50)], True),
        ('pool2 2x2 on 50x8x8', lambda x: F.max_pooling_2d(x, 2), normal(N, 50, 8, 8), [], True),
        ('avgpool 2x2 on 20x24x24', lambda x: F.average_pooling_2d(x, 2),
         normal(N, 20, 24, 24), [], True),
        ('deconv 50->20 5x5 on 8x8', lambda x, W: F.deconvolution_2d(x, W),
         normal(N, 50, 8, 8), [normal(50, 20, 5, 5)], True),
    ]
    print('{:<36} {:7.2f} ms'.format('lenet step (fwd+bwd, whole net)', best_ms(lenet(rng))))
    for name, func, x, params, needs in cases:
        try:
            print('{:<36} {:7.2f} ms'.format(name, best_ms(layer(func, x, params, needs))))
        except AttributeError as error:
            print('{:<36} skipped ({})'.format(name, error))


if __name__ == '__main__':
    main()
