"""Chainer's classic tutorial, run as written with dchain imports.

A two-layer network (``MyChain``) wrapped in ``L.Classifier`` with a regression loss, trained
with Adam in both of Chainer's styles (``optimizer.update(model, x, t)``, and an explicit
backward followed by ``optimizer.update()``), then saved to HDF5 and loaded into a fresh
model that gives the same outputs.

    python examples/tutorial.py [--steps 500] [--out my.model]
"""
import argparse

import numpy

import dchain
from dchain import Chain, optimizers, serializers
import dchain.functions as F
import dchain.links as L


class MyChain(Chain):
    def __init__(self):
        super(MyChain, self).__init__(l1=L.Linear(4, 3), l2=L.Linear(3, 2))

    def __call__(self, x):
        h = F.sigmoid(self.l1(x))
        return self.l2(h)


def make_data(size=64, seed=0):
    """Inputs of shape (size, 4) and float targets of shape (size, 2) from a fixed rule."""
    rng = numpy.random.default_rng(seed)
    x = rng.uniform(-1, 1, (size, 4)).astype(numpy.float32)
    t = numpy.stack([x[:, 0] * x[:, 1], x[:, 2] - x[:, 3]], axis=1).astype(numpy.float32)
    return x, t


def main(steps=500, out='my.model', verbose=True):
    """Train, save and reload; returns (first loss, last loss, max output difference)."""
    dchain.random.seed(0)
    x, t = make_data()

    model = L.Classifier(MyChain(), lossfun=F.mean_squared_error)
    optimizer = optimizers.Adam()
    optimizer.setup(model)

    first_loss = float(model(x, t).array)
    for step in range(steps):
        if step % 2 == 0:
            # The loss function is given to update, which computes the gradients itself.
            optimizer.update(model, x, t)
        else:
            # Or compute them explicitly and call update without arguments.
            model.cleargrads()
            loss = model(x, t)
            loss.backward()
            optimizer.update()
    last_loss = float(model(x, t).array)

    serializers.save_hdf5(out, model)
    fresh = L.Classifier(MyChain(), lossfun=F.mean_squared_error)
    serializers.load_hdf5(out, fresh)
    with dchain.no_backprop_mode():
        difference = float(numpy.abs(fresh.predictor(x).array - model.predictor(x).array).max())
    if verbose:
        print('loss {:.5f} -> {:.5f} after {} steps'.format(first_loss, last_loss, steps))
        print('saved to {}; the reloaded model differs by {:g}'.format(out, difference))
    return first_loss, last_loss, difference


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=500)
    parser.add_argument('--out', default='my.model')
    args = parser.parse_args()
    main(args.steps, args.out)
