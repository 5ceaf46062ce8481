"""Chainer's seq2seq program (NStepLSTM encoder-decoder) ported by its imports, on a small
local word-for-word translation task in the program's file formats, with validation: the
translate extension and BLEU (nltk) run on the way."""
import json
import os

import numpy
import pytest

from porting import check, run_program

pytest.importorskip('nltk')
pytest.importorskip('progressbar')


def _write_corpus(folder):
    rng = numpy.random.RandomState(0)

    def pairs(n):
        result = []
        for _ in range(n):
            ids = rng.randint(0, 12, rng.randint(2, 6))
            result.append((' '.join('s%d' % i for i in ids), ' '.join('t%d' % i for i in ids)))
        return result

    os.makedirs(folder)
    files = {}
    for split, n in (('train', 200), ('val', 20)):
        data = pairs(n)
        for side, index in (('src', 0), ('tgt', 1)):
            files[split, side] = os.path.join(folder, '{}.{}'.format(split, side))
            with open(files[split, side], 'w') as f:
                f.writelines(pair[index] + '\n' for pair in data)
    for side, prefix in (('src', 's'), ('tgt', 't')):
        files['vocab', side] = os.path.join(folder, 'vocab.' + side)
        with open(files['vocab', side], 'w') as f:
            f.writelines('{}{}\n'.format(prefix, i) for i in range(12))
    return files


@pytest.mark.slow
def test_seq2seq(tmp_path):
    files = _write_corpus(os.path.join(str(tmp_path), 'data'))
    stdout = check(run_program('seq2seq/seq2seq.py', [
        files['train', 'src'], files['train', 'tgt'], files['vocab', 'src'],
        files['vocab', 'tgt'], '--validation-source', files['val', 'src'],
        '--validation-target', files['val', 'tgt'], '--batchsize', '20', '--epoch', '25',
        '--unit', '32', '--layer', '2', '--log-interval', '10', '--validation-interval', '125'],
        tmp_path=tmp_path))
    assert 'Train data size: 200' in stdout and 'Validation data: 20' in stdout
    assert stdout.count('# result : ') == 2
    with open(os.path.join(str(tmp_path), 'seq2seq', 'result', 'log')) as f:
        log = json.load(f)
    assert len(log) == 25
    assert log[-1]['main/loss'] < 0.6 * log[0]['main/loss']
    assert log[-1]['main/perp'] < 0.5 * log[0]['main/perp']
    bleu = [entry['validation/main/bleu'] for entry in log if 'validation/main/bleu' in entry]
    assert len(bleu) == 2 and 0 <= bleu[0] <= 1 and 0 <= bleu[1] <= 1


@pytest.mark.slow
def test_seq2seq_dataset_api(tmp_path):
    files = _write_corpus(os.path.join(str(tmp_path), 'data'))
    check(run_program('seq2seq/seq2seq.py', [
        files['train', 'src'], files['train', 'tgt'], files['vocab', 'src'],
        files['vocab', 'tgt'], '--use-dataset-api', '--batchsize', '20', '--epoch', '2',
        '--unit', '16', '--layer', '1', '--log-interval', '10'], tmp_path=tmp_path))
    with open(os.path.join(str(tmp_path), 'seq2seq', 'result', 'log')) as f:
        log = json.load(f)
    assert [entry['iteration'] for entry in log] == [10, 20]
