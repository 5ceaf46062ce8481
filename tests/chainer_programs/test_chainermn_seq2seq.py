"""ChainerMN's examples/chainermn/seq2seq (Chainer v7.8.1), ported by changing imports only,
under ``mpirun`` on the CPU, on a tiny English-French corpus in the WMT files' format
(``giga-fren.release2.fixed.{en,fr}.gz`` and ``dev/newstest2013.{en,fr}``, read by the
example's ``europal.py``): seq2seq.py (data parallel, 3-layer NStepLSTM encoder-decoder, BLEU
by a multi-node evaluator) and seq2seq_mp1.py (model parallel: the encoder on rank 0 hands its
LSTM states to the decoder on rank 1 with ``create_multi_node_n_step_rnn``).

Both programs fail on Chainer 7.8.1 itself (checked with the same data), and dchain runs them
unedited:

- Their ``BleuEvaluator`` registers ``{'main': None}`` as its iterator and runs its own loop.
  When training ends, Chainer's ``Evaluator.finalize`` calls ``None.finalize()``: both
  programs end with ``AttributeError: 'NoneType' object has no attribute 'finalize'`` and
  exit 1, after the last epoch's log is written. dchain finalizes only the iterators that
  have ``finalize``.
- seq2seq_mp1.py reads the corpus on both ranks and then calls
  ``comm.bcast_obj(source_ids, root=0)`` on rank 1 too, with its own (equal) dictionary.
  ChainerMN asserts that a non-root rank passes None: rank 1 dies there and rank 0 waits in
  the broadcast for ever (an edit passing None on rank 1 lets it train on Chainer). dchain's
  ``bcast_obj``, as mpi4py's ``bcast``, ignores what a non-root rank passes.

Measured with these sizes (2 ranks): seq2seq.py on Chainer 14.2 -> 11.0 loss in 4 epochs, on
dchain 14.1 -> 10.4 in 5; seq2seq_mp1.py (edited as above) on Chainer 12.8 -> 9.7 in 5 epochs,
on dchain 12.5 -> 9.9.
"""
import gzip
import json
import math
import os
import random

import pytest

from porting import check, mpirun_path, run_program

pytest.importorskip('nltk')
pytest.importorskip('progressbar')
pytest.importorskip('six')

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mpirun_path() is None, reason='needs mpirun')]

_ENGLISH = ('i you we they see like have want the a red blue big small cat dog house car '
            'book tree').split()
_FRENCH = ('je tu nous ils vois aime ai veux le un rouge bleu grand petit chat chien maison '
           'voiture livre arbre').split()
N_TRAIN = 64
N_DEV = 8


def _write_corpus(folder):
    """Word-for-word sentence pairs, capitalized and ending in ' .' as the corpus' do; the
    training files gzipped as WMT's."""
    rng = random.Random(0)

    def pairs(n):
        result = []
        for _ in range(n):
            ids = [rng.randrange(len(_ENGLISH)) for _ in range(rng.randint(2, 5))]
            result.append((' '.join(_ENGLISH[i] for i in ids).capitalize() + ' .',
                           ' '.join(_FRENCH[i] for i in ids).capitalize() + ' .'))
        return result

    os.makedirs(os.path.join(folder, 'dev'))
    for name, n, opener in (('giga-fren.release2.fixed', N_TRAIN, gzip.open),
                            ('dev/newstest2013', N_DEV, open)):
        data = pairs(n)
        for side, index in (('en', 0), ('fr', 1)):
            path = os.path.join(folder, '{}.{}'.format(name, side))
            if opener is gzip.open:
                path += '.gz'
            with opener(path, 'wt', encoding='utf-8') as f:
                f.writelines(pair[index] + '\n' for pair in data)
    return folder


def _log(tmp_path):
    with open(os.path.join(str(tmp_path), 'chainermn', 'seq2seq', 'result', 'log')) as f:
        return json.load(f)


def _check_training(log, iterations_per_epoch, epochs):
    assert [(e['epoch'], e['iteration']) for e in log] == [
        (epoch, epoch * iterations_per_epoch) for epoch in range(1, epochs + 1)]
    for entry in log:
        assert math.isfinite(entry['main/loss']) and math.isfinite(entry['main/perp'])
        assert 0 <= entry['validation/main/bleu'] <= 1
    # 23 words a side (with <eos> and <unk>): the first epoch's perplexity is near that
    assert 10 < log[0]['main/perp'] < 30
    assert log[-1]['main/loss'] < 0.85 * log[0]['main/loss']
    assert log[-1]['main/perp'] < 0.7 * log[0]['main/perp']


def test_seq2seq_data_parallel(tmp_path):
    data = _write_corpus(os.path.join(str(tmp_path), 'wmt'))
    stdout = check(run_program('chainermn/seq2seq/seq2seq.py', [
        '--input', data, '--unit', '16', '--batchsize', '8', '--stop', '5e',
        '--optimizer', 'adam(alpha=0.01)', '--cache', 'cache'], tmp_path=tmp_path, n=2))
    # without --gpu the program uses the 'naive' communicator (it prints the --communicator)
    assert 'Num process (COMM_WORLD): 2' in stdout and 'Num unit: 16' in stdout
    assert 'Filtered training data size: {}'.format(N_TRAIN) in stdout
    assert 'target_words : 23' in stdout and 'source_words : 23' in stdout
    assert "Trigger: (5, 'epoch')" in stdout and 'start training' in stdout
    # each of the 2 ranks prints its time once per rank at each of the 5 evaluations
    assert stdout.count('BleuEvaluator::evaluate(): took') == 2 * 2 * 5
    # 32 sentences a rank (scatter_dataset), batches of 8: 4 iterations an epoch
    _check_training(_log(tmp_path), 4, 5)
    cache = os.path.join(str(tmp_path), 'chainermn', 'seq2seq', 'cache')
    assert sorted(os.listdir(cache)) == ['source.pickle', 'target.pickle']


def test_seq2seq_model_parallel(tmp_path):
    data = _write_corpus(os.path.join(str(tmp_path), 'wmt'))
    stdout = check(run_program('chainermn/seq2seq/seq2seq_mp1.py', [
        '--input', data, '--unit', '16', '--batchsize', '8', '--stop', '5e',
        '--optimizer', 'adam(alpha=0.01)'], tmp_path=tmp_path, n=2))
    assert 'Num process (COMM_WORLD): 2' in stdout and 'start training' in stdout
    # both ranks read the corpus; the decoder's rank alone evaluates, logs and reports
    assert stdout.count('Filtered training data size: {}'.format(N_TRAIN)) == 2
    assert stdout.count('BleuEvaluator(single)::evaluate(): took') == 5
    assert 'validation/main/bleu' in stdout and '40 iter, 5 epoch / 5 epochs' in stdout
    # every rank reads all 64 sentences, batches of 8: 8 iterations an epoch
    _check_training(_log(tmp_path), 8, 5)


def test_seq2seq_model_parallel_refuses_three_ranks(tmp_path):
    data = _write_corpus(os.path.join(str(tmp_path), 'wmt'))
    result = run_program('chainermn/seq2seq/seq2seq_mp1.py', [
        '--input', data, '--unit', '4', '--stop', '1i'], tmp_path=tmp_path, n=3)
    # the program's own check, on every rank; the job ends instead of hanging
    assert result.returncode != 0
    assert 'ValueError: This example can only be executed on exactly 2 processes.' in \
        result.stdout + result.stderr
