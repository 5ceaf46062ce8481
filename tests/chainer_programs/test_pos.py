"""Chainer's POS-tagging program (EmbedID features + CRF1d) ported by its imports, on a small
local corpus in the Brown corpus' format, read by nltk's own Brown reader (NLTK_DATA); only the
download is skipped, the corpus being there already."""
import json
import os

import numpy
import pytest

from porting import check, run_program

pytest.importorskip('nltk')

WORDS = {'at': ['the', 'a', 'every'], 'jj': ['big', 'red', 'old', 'fast'],
         'nn': ['dog', 'cat', 'man', 'ball', 'run', 'walk'], 'vbz': ['sees', 'likes', 'wants'],
         'vb': ['run', 'walk'], 'md': ['will', 'can'], '.': ['.']}


def _write_brown(folder, n_sentences=300):
    """Tagged sentences of a tiny grammar; 'run' and 'walk' are nouns or verbs by context."""
    rng = numpy.random.RandomState(0)

    def phrase():
        return ['at'] + (['jj'] if rng.rand() < 0.5 else []) + ['nn']

    def sentence():
        tags = phrase() + (['vbz'] + phrase() if rng.rand() < 0.6 else ['md', 'vb']) + ['.']
        return ' '.join('{}/{}'.format(WORDS[t][rng.randint(len(WORDS[t]))], t) for t in tags)

    corpus = os.path.join(folder, 'corpora', 'brown')
    os.makedirs(corpus)
    with open(os.path.join(corpus, 'ca01'), 'w') as f:
        f.writelines('\n\t{}\n'.format(sentence()) for _ in range(n_sentences))
    with open(os.path.join(corpus, 'cats.txt'), 'w') as f:
        f.write('ca01 news\n')


@pytest.mark.slow
def test_postagging(tmp_path):
    nltk_data = os.path.join(str(tmp_path), 'nltk_data')
    _write_brown(nltk_data)
    stdout = check(run_program(
        'pos/postagging.py', ['--batchsize', '10', '--epoch', '38'], tmp_path=tmp_path,
        # the program draws its weights and order from NumPy's global state, unseeded: seed it
        # so that the first log entry (after 100 iterations, already learning) is repeatable
        preamble='import nltk, numpy\nnltk.download = lambda *args, **kwargs: True\n'
                 'numpy.random.seed(0)\n',
        env={'NLTK_DATA': nltk_data}))
    assert '# of sentences: 300' in stdout and '# of pos: 7' in stdout
    with open(os.path.join(str(tmp_path), 'pos', 'result', 'log')) as f:
        log = json.load(f)
    assert [entry['iteration'] for entry in log] == list(range(100, 1001, 100))
    first, last = log[0], log[-1]
    assert last['main/loss'] < 0.5 * first['main/loss']
    assert last['main/correct'] / last['main/total'] > 0.7
    assert first['main/correct'] / first['main/total'] < 0.5
    # The evaluator runs at iteration 1000; MicroAverage turns its counts into an accuracy.
    assert last['validation/main/accuracy'] > 0.6
