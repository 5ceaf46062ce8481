"""Chainer's word2vec program ported by its imports: skip-gram and CBOW with the hierarchical
softmax, negative sampling and the plain softmax, on a small local corpus in get_ptb_words'
format. The losses fall as fast as Chainer's on the same data (hierarchical softmax, 30
epochs: 131.4 -> 116.5 here, 131.4 -> 116.9 with Chainer 7.8.1)."""
import json
import os

import pytest

from porting import check, run_program

PREAMBLE = '''
import numpy
import dchain.datasets

def get_ptb_words():
    words = numpy.tile(numpy.arange(30, dtype=numpy.int32), 20)
    return words, words[:200].copy(), words[:200].copy()

def get_ptb_words_vocabulary():
    return {'w%d' % i: i for i in range(30)}

dchain.datasets.get_ptb_words = get_ptb_words
dchain.datasets.get_ptb_words_vocabulary = get_ptb_words_vocabulary
'''


@pytest.mark.slow
@pytest.mark.parametrize('model, out_type', [('skipgram', 'hsm'), ('cbow', 'ns'),
                                             ('skipgram', 'original')])
def test_train_word2vec(tmp_path, model, out_type):
    stdout = check(run_program(
        'word2vec/train_word2vec.py',
        ['--test', '--epoch', '30', '--unit', '20', '--batchsize', '20', '--window', '2',
         '--model', model, '--out-type', out_type], tmp_path=tmp_path, preamble=PREAMBLE))
    assert 'n_vocab: 30' in stdout
    result = os.path.join(str(tmp_path), 'word2vec', 'result')
    with open(os.path.join(result, 'log')) as f:
        log = json.load(f)
    assert len(log) == 30
    assert log[-1]['validation/main/loss'] < 0.95 * log[0]['validation/main/loss']
    assert log[-1]['main/loss'] < 0.95 * log[0]['main/loss']
    with open(os.path.join(result, 'word2vec.model')) as f:
        lines = f.read().splitlines()
    assert lines[0] == '30 20' and len(lines) == 31
    assert lines[1].split()[0] == 'w0' and len(lines[1].split()) == 21
