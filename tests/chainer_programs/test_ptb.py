"""Chainer's ptb programs (an LSTM language model, truncated BPTT, and the text generator
that loads it) ported by their imports.

The corpus is small and local: a word sequence that repeats, so the next word is predictable
and the perplexity must fall from about the vocabulary size (20) towards 1.
"""
import json
import os
import re

import pytest

from porting import check, run_program

PREAMBLE = '''
import numpy
import dchain.datasets

numpy.random.seed(0)  # the programs draw their weights from NumPy's global state, unseeded

def get_ptb_words():
    words = numpy.tile(numpy.arange(20, dtype=numpy.int32), 30)
    return words, words[:100].copy(), words[:100].copy()

def get_ptb_words_vocabulary():
    return {'w%d' % i: i for i in range(20)}

dchain.datasets.get_ptb_words = get_ptb_words
dchain.datasets.get_ptb_words_vocabulary = get_ptb_words_vocabulary
'''
ARGS = ['--test', '--epoch', '60', '--unit', '64', '--batchsize', '5', '--bproplen', '10']


@pytest.mark.slow
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
    # gentxt.py loads the saved model and continues a prime word; the corpus counts up.
    stdout = check(run_program('ptb/gentxt.py', ['--model', 'model.npz', '--primetext', 'w3',
                                                 '--unit', '64', '--sample', '0',
                                                 '--length', '8'],
                               tmp_path=tmp_path, preamble=PREAMBLE))
    words = stdout.split()
    assert words[0] == 'w3' and len(words) == 9
    # Three of the eight next words right is far beyond chance (1 in 20 each; 0.4 expected).
    assert sum(a == 'w%d' % ((b + 1) % 20) for a, b in
               zip(words[1:], [int(w[1:]) for w in words[:-1]])) >= 3


@pytest.mark.slow
def test_train_ptb_custom_loop(tmp_path):
    stdout = check(run_program('ptb/train_ptb_custom_loop.py', ARGS, tmp_path=tmp_path,
                               preamble=PREAMBLE))
    validation = [float(v) for v in re.findall(r'validation perplexity: ([\d.]+)', stdout)]
    assert len(validation) == 60
    assert validation[0] > 15 and min(validation[-5:]) < 5
    assert float(re.search(r'test perplexity: ([\d.]+)', stdout).group(1)) < 5
    for name in ('rnnlm.model', 'rnnlm.state'):
        assert os.path.exists(os.path.join(tmp_path, 'ptb', 'result', name))
