"""Chainer's ptb programs (an LSTM language model, truncated BPTT) ported by their imports.

The corpus is small and local: a word sequence that repeats, so the next word is predictable
and the perplexity must fall from about the vocabulary size (20) towards 1.
"""
import json
import os
import re

import numpy
import pytest

import dchain
import dchain.links as L
from porting import check, run_program

PREAMBLE = '''
import numpy
import dchain.datasets

def get_ptb_words():
    words = numpy.tile(numpy.arange(20, dtype=numpy.int32), 30)
    return words, words[:100].copy(), words[:100].copy()

dchain.datasets.get_ptb_words = get_ptb_words
'''
ARGS = ['--test', '--epoch', '60', '--unit', '64', '--batchsize', '5', '--bproplen', '10']


def _takes_numpy_sizes():
    try:
        L.EmbedID(numpy.int32(3), 2)
    except (TypeError, ValueError):
        return False
    return True


needs_numpy_sizes = pytest.mark.skipif(not _takes_numpy_sizes(),
                                       reason='needs EmbedID to take NumPy integer sizes')


@pytest.mark.slow
@needs_numpy_sizes
def test_train_ptb(tmp_path):
    stdout = check(run_program('ptb/train_ptb.py', ARGS, tmp_path=tmp_path, preamble=PREAMBLE))
    with open(os.path.join(tmp_path, 'ptb', 'result', 'log')) as f:
        log = json.load(f)
    assert len(log) == 12  # every 10 of 120 iterations
    assert log[0]['val_perplexity'] > 15
    assert log[-1]['val_perplexity'] < 5
    assert log[-1]['perplexity'] < log[0]['perplexity'] / 3
    assert float(re.search(r'test perplexity: ([\d.]+)', stdout).group(1)) < 5
    assert os.path.exists(os.path.join(tmp_path, 'ptb', 'model.npz'))
    assert os.path.exists(os.path.join(tmp_path, 'ptb', 'result', 'model_iter_120'))


@pytest.mark.slow
@needs_numpy_sizes
@pytest.mark.skipif(not hasattr(dchain, 'configuration') or
                    not hasattr(dchain.optimizer, 'GradientClipping'),
                    reason='needs dchain.configuration and dchain.optimizer.GradientClipping')
def test_train_ptb_custom_loop(tmp_path):
    stdout = check(run_program('ptb/train_ptb_custom_loop.py', ARGS, tmp_path=tmp_path,
                               preamble=PREAMBLE))
    validation = [float(v) for v in re.findall(r'validation perplexity: ([\d.]+)', stdout)]
    assert len(validation) == 60
    assert validation[0] > 15 and min(validation[-5:]) < 5
    assert float(re.search(r'test perplexity: ([\d.]+)', stdout).group(1)) < 5
    for name in ('rnnlm.model', 'rnnlm.state'):
        assert os.path.exists(os.path.join(tmp_path, 'ptb', 'result', name))
