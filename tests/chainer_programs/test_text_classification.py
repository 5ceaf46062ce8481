"""Chainer's text_classification program ported by its imports, with the CNN and the RNN
(NStepLSTM) encoders, on a small local sentiment set that the program's own reader loads.

One line of the program does not run on NumPy 2, with Chainer or with dchain:
``int(d[1])`` of the (1,)-shaped label array (NumPy 2 refuses to convert arrays of ndim > 0
to a scalar). The test changes that expression alone, to ``int(d[1][0])``.
"""
import json
import os

import numpy
import pytest

from porting import PROGRAMS, check, port_tree, run_program

POSITIVE = 'good great fine nice happy lovely'.split()
NEGATIVE = 'bad awful poor sad ugly boring'.split()
FILLER = 'the a movie film was is and plot actors story this it very'.split()


def _write_sentiment_files(folder):
    """stsa.binary's format: one '<label> <text>' line per sentence."""
    rng = numpy.random.RandomState(0)

    def line():
        label = rng.randint(2)
        words = list(rng.choice(FILLER, rng.randint(3, 9)))
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randint(len(words) + 1), rng.choice(POSITIVE if label else NEGATIVE))
        return '{} {}\n'.format(label, ' '.join(words))

    os.makedirs(folder)
    for name, n in (('stsa.binary.train', 200), ('stsa.binary.test', 100)):
        with open(os.path.join(folder, name), 'w') as f:
            f.writelines(line() for _ in range(n))


def _port_for_numpy2(tmp_path):
    destination = os.path.join(str(tmp_path), 'text_classification')
    port_tree(os.path.join(PROGRAMS, 'text_classification'), destination)
    path = os.path.join(destination, 'train_text_classifier.py')
    with open(path) as f:
        source = f.read()
    assert source.count('int(d[1]) for d in train') == 1
    with open(path, 'w') as f:
        f.write(source.replace('int(d[1]) for d in train', 'int(d[1][0]) for d in train'))


@pytest.mark.slow
@pytest.mark.parametrize('model, epochs, accuracy', [('rnn', 10, 0.85), ('cnn', 25, 0.75)])
def test_train_text_classifier(tmp_path, model, epochs, accuracy):
    data = os.path.join(str(tmp_path), 'data')
    _write_sentiment_files(data)
    # the program draws its weights, dropout and order from NumPy's global state, unseeded
    preamble = (
        'import os, numpy\n'
        'import dchain.dataset\n'
        'numpy.random.seed(0)\n'
        'dchain.dataset.cached_download = lambda url: os.path.join({!r}, '
        'os.path.basename(url))\n').format(data)
    _port_for_numpy2(tmp_path)
    stdout = check(run_program(
        'text_classification/train_text_classifier.py',
        ['--test', '--dataset', 'stsa.binary', '--model', model, '--epoch', epochs,
         '--unit', '30', '--batchsize', '10', '--dropout', '0.1'],
        tmp_path=tmp_path, preamble=preamble))
    assert '# class: 2' in stdout
    result = os.path.join(str(tmp_path), 'text_classification', 'result')
    with open(os.path.join(result, 'log')) as f:
        log = json.load(f)
    assert len(log) == epochs
    assert log[-1]['main/loss'] < log[0]['main/loss'] * 0.8
    assert max(entry['validation/main/accuracy'] for entry in log) >= accuracy
    assert os.path.exists(os.path.join(result, 'best_model.npz'))
    with open(os.path.join(result, 'args.json')) as f:
        assert json.load(f)['model'] == model
