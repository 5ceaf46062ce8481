import re

import numpy
import pytest

import dchain
import dchain.links as L
from dchain import optimizers, reporter, serializers
from dchain.datasets import TupleDataset
from dchain.iterators import SerialIterator
from dchain.training import StandardUpdater, Trainer, extensions


def _trainer(tmp_path, iterations=3):
    model = L.Classifier(L.Linear(3, 2))
    x = numpy.random.RandomState(0).randn(8, 3).astype(numpy.float32)
    t = (x[:, 0] > 0).astype(numpy.int32)
    optimizer = optimizers.SGD().setup(model)
    updater = StandardUpdater(SerialIterator(TupleDataset(x, t), 4), optimizer)
    stop = (iterations, 'iteration') if iterations else (lambda trainer: True)
    return Trainer(updater, stop, out=str(tmp_path)), model


def test_dumps_the_first_iterations_graph_once(tmp_path):
    trainer, model = _trainer(tmp_path)
    seen = []

    @dchain.training.make_extension(trigger=(1, 'iteration'))
    def record(trainer):
        seen.append(type(trainer.observation['main/loss']).__name__)
    trainer.extend(extensions.DumpGraph('main/loss'))
    trainer.extend(record)
    assert not dchain.config.keep_graph_on_report
    trainer.run()
    text = (tmp_path / 'cg.dot').read_text()
    assert text.startswith('digraph graphname{rankdir=TB;')
    labels = re.findall(r'label="([^"]*)"', text)
    assert 'W: (2, 3), float32' in labels and 'b: (2), float32' in labels
    assert '(4, 3), float32' in labels and '(4), int32' in labels
    assert len(re.findall(r' -> ', text)) == 7
    # the first iteration's loss kept its graph; later ones are stored as arrays again
    assert seen == ['Variable', 'ndarray', 'ndarray']
    assert not dchain.config.keep_graph_on_report
    assert sorted(p.name for p in tmp_path.iterdir()) in (['cg.dot'], ['cg.dot', 'cg.png'])


def test_alias_filename_and_a_resumed_run_does_not_dump_again(tmp_path):
    trainer, _ = _trainer(tmp_path, iterations=1)
    dump = extensions.dump_graph('main/loss', out_name='graph.dot')
    trainer.extend(dump)
    trainer.run()
    assert (tmp_path / 'graph.dot').exists()
    path = str(tmp_path / 'snapshot.npz')
    serializers.save_npz(path, dump)
    again = extensions.DumpGraph('main/loss', filename='again.dot')
    serializers.load_npz(path, again)
    trainer, _ = _trainer(tmp_path, iterations=1)
    trainer.extend(again)
    trainer.run()
    assert not (tmp_path / 'again.dot').exists()
    assert not dchain.config.keep_graph_on_report


def test_missing_key_or_array_is_refused_and_the_flag_restored(tmp_path):
    trainer, _ = _trainer(tmp_path, iterations=1)
    trainer.extend(extensions.DumpGraph('main/absent'))
    with pytest.raises(KeyError, match="DumpGraph: 'main/absent' is not in the observation"):
        trainer.run(show_loop_exception_msg=False)
    assert not dchain.config.keep_graph_on_report

    trainer, _ = _trainer(tmp_path, iterations=1)

    @dchain.training.make_extension(trigger=(1, 'iteration'), priority=300)
    def report_number(trainer):
        reporter.report({'number': 1.0})
    trainer.extend(report_number)
    trainer.extend(extensions.DumpGraph('number'))
    with pytest.raises(TypeError, match="DumpGraph: 'number' must be a reported Variable"):
        trainer.run(show_loop_exception_msg=False)
    assert not dchain.config.keep_graph_on_report


def test_flag_restored_when_training_ends_before_the_dump(tmp_path):
    trainer, _ = _trainer(tmp_path, iterations=0)
    trainer.extend(extensions.DumpGraph('main/loss'))
    trainer.run()
    assert not dchain.config.keep_graph_on_report
    assert not (tmp_path / 'cg.dot').exists()
