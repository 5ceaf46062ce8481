"""Chainer's examples/sentiment programs ported by changing imports only: a recursive neural
network over sentiment trees, one tree at a time (train_sentiment.py) and batched with thin
stacks, an old-style chainer.Function (train_recursive_minibatch.py), on small trees in the
Stanford Sentiment Treebank format written here."""
import json
import os
import random
import re

import pytest

from porting import PROGRAMS, check, port_tree, run_program

pytestmark = [
    pytest.mark.slow,
    ]

SCORES = {'good': 2, 'great': 2, 'fine': 1, 'nice': 1, 'bad': -2, 'awful': -2, 'poor': -1,
          'dull': -1, 'the': 0, 'movie': 0, 'plot': 0, 'actor': 0, 'was': 0, 'film': 0, 'a': 0}


def _label(score):
    return 0 if score <= -2 else 1 if score < 0 else 2 if score == 0 else 3 if score < 2 else 4


def _tree(words, rng):
    """A random binary tree over ``words`` as an s-expression; a phrase's label (0-4) follows
    the sum of its words' scores."""
    if len(words) == 1:
        return '({} {})'.format(_label(SCORES[words[0]]), words[0]), SCORES[words[0]]
    cut = rng.randint(1, len(words) - 1)
    left, left_score = _tree(words[:cut], rng)
    right, right_score = _tree(words[cut:], rng)
    score = left_score + right_score
    return '({} {} {})'.format(_label(score), left, right), score


def _prepare(tmp_path):
    """The ported program folder with trees/{train,dev,test}.txt in it."""
    folder = tmp_path / 'sentiment'
    port_tree(os.path.join(PROGRAMS, 'sentiment'), str(folder))
    (folder / 'trees').mkdir()
    words = sorted(SCORES)
    for name, count, seed in (('train', 100, 0), ('dev', 30, 1), ('test', 30, 2)):
        rng = random.Random(seed)
        lines = [_tree([rng.choice(words) for _ in range(rng.randint(2, 6))], rng)[0]
                 for _ in range(count)]
        (folder / 'trees' / (name + '.txt')).write_text('\n'.join(lines) + '\n')
    return folder


def _log(folder):
    with open(str(folder / 'result' / 'log')) as f:
        return json.load(f)


def test_train_sentiment(tmp_path):
    folder = _prepare(tmp_path)
    stdout = check(run_program('sentiment/train_sentiment.py', ['-e', '10', '-p', '5', '-b', '10'],
                               tmp_path=tmp_path))
    log = _log(folder)
    assert [entry['epoch'] for entry in log] == list(range(1, 11))
    # node accuracies are micro-averaged over the nodes of all trees; Chainer 7.8.1 on these
    # trees: loss 0.88 -> 0.03, validation accuracy 0.92, test root accuracy 70%
    assert log[-1]['main/loss'] < log[0]['main/loss'] / 5
    assert log[-1]['main/accuracy'] > 0.9
    assert 'validation/main/accuracy' in log[4] and 'validation/main/accuracy' not in log[3]
    assert log[-1]['validation/main/accuracy'] > 0.7
    node = float(re.search(r'Node accuracy: ([\d.]+)', stdout).group(1))
    assert node > 70
    assert {'snapshot_epoch_5', 'snapshot_epoch_10'} <= set(os.listdir(str(folder / 'result')))


def test_train_recursive_minibatch(tmp_path):
    folder = _prepare(tmp_path)
    check(run_program('sentiment/train_recursive_minibatch.py', ['-e', '10', '-b', '10'],
                      tmp_path=tmp_path))
    log = _log(folder)
    assert len(log) == 10
    assert log[-1]['main/loss'] < log[0]['main/loss'] / 5
    assert log[-1]['main/accuracy'] > 0.9
    assert log[-1]['validation/main/accuracy'] > 0.7
