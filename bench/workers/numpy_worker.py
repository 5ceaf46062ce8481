"""The floor (see protocol.py): only the matrix products one mlp-large step needs, in plain
NumPy into preallocated arrays. Forward x W1^T, h1 W2^T, h2 W3^T; backward gW = gy^T h for each
layer and gx = gy W for the two upper layers (a framework skips the input's gradient)."""
import sys

import protocol  # sets the thread variables before NumPy loads

import numpy


def info():
    return {'framework': 'numpy', 'version': numpy.__version__, 'numpy': numpy.__version__,
            'python': sys.version.split()[0]}


def build(row):
    if row != 'floor':
        raise ValueError('the numpy worker runs the floor row only, not {!r}'.format(row))
    sizes = protocol.MLP_ROWS['mlp-large']['sizes']
    batch = protocol.MLP_ROWS['mlp-large']['batch']
    rng = numpy.random.RandomState(0)

    def normal(*shape):
        return rng.standard_normal(shape).astype(numpy.float32)

    x = normal(batch, sizes[0])
    Ws = [normal(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    hs = [x] + [numpy.empty((batch, n), numpy.float32) for n in sizes[1:]]
    gys = [numpy.empty((batch, n), numpy.float32) for n in sizes[1:]]
    gWs = [numpy.empty_like(W) for W in Ws]
    gys[-1][...] = normal(batch, sizes[-1])
    matmul = numpy.matmul
    layers = range(len(Ws))

    def step():
        for i in layers:
            matmul(hs[i], Ws[i].T, out=hs[i + 1])
        for i in reversed(layers):
            matmul(gys[i].T, hs[i], out=gWs[i])
            if i:
                matmul(gys[i], Ws[i], out=gys[i - 1])
    return step


if __name__ == '__main__':
    protocol.main(build, info)
