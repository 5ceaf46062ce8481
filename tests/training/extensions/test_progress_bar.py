import io

import pytest

from dchain.training import Trainer
from dchain.training.extensions import LogReport, PrintReport, ProgressBar

from .._fakes import FakeUpdater


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(tmp_path, out, stop=(2, 'epoch'), **kwargs):
    trainer = Trainer(FakeUpdater(4), stop, out=str(tmp_path))
    trainer.extend(ProgressBar(out=out, **kwargs))
    trainer.run()


def test_plain_lines_for_a_log_file(tmp_path):
    out = io.StringIO()
    _run(tmp_path, out, update_interval=2)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # iterations 2, 4, 6, 8
    assert '\033' not in out.getvalue() and '\r' not in out.getvalue()
    assert lines[0].startswith('2 iter, 0 epoch / 2 epochs | total 25.00% | this epoch 50.00% |')
    assert lines[1].startswith('4 iter, 1 epoch / 2 epochs | total 50.00% | this epoch  0.00% |')
    assert lines[3].startswith('8 iter, 2 epoch / 2 epochs | total 100.00% | this epoch  0.00% |')
    for line in lines:
        assert 'iters/sec. Estimated time to finish: ' in line


def test_terminal_block_redraws_in_place(tmp_path):
    out = Terminal()
    _run(tmp_path, out, stop=(6, 'iteration'), update_interval=3, bar_length=10)
    text = out.getvalue()
    # each draw clears from the cursor, writes four lines and returns to their head
    blocks = text.split('\033[J')
    assert blocks[0] == '' and blocks[-1] == ''  # the last clear erases the final block
    assert len(blocks) == 4
    assert blocks[1] == ('     total [#####.....] 50.00%\nthis epoch [#######...] 75.00%\n'
                         '         3 iter, 0 epoch / 6 iterations\n' + blocks[1].split('\n')[3]
                         + '\n\033[4A')
    assert blocks[2].startswith('     total [##########] 100.00%\n'
                                'this epoch [#####.....] 50.00%\n'
                                '         6 iter, 1 epoch / 6 iterations\n')
    assert 'iters/sec. Estimated time to finish: ' in blocks[2]


def test_print_report_rows_replace_the_block_on_a_terminal(tmp_path):
    out = Terminal()
    trainer = Trainer(FakeUpdater(2), (2, 'epoch'), out=str(tmp_path))
    trainer.extend(LogReport(filename=None, log_name=None))
    trainer.extend(PrintReport(['epoch'], out=out))
    trainer.extend(ProgressBar(update_interval=1, out=out))
    trainer.run()
    text = out.getvalue()
    # the row of epoch 1 follows a clear, so it is written over the bar, not under it
    assert '\033[J1           \n' in text
    assert '\033[J2           \n' in text


def test_training_length_given_and_bad_interval(tmp_path):
    out = io.StringIO()
    _run(tmp_path, out, stop=(4, 'iteration'), training_length=(8, 'iteration'),
         update_interval=4)
    assert 'total 50.00%' in out.getvalue()
    with pytest.raises(ValueError, match='ProgressBar: update_interval must be a positive int, '
                                         'got 0'):
        ProgressBar(update_interval=0)


def test_needs_a_length(tmp_path):
    trainer = Trainer(FakeUpdater(4), lambda trainer: trainer.updater.iteration >= 2,
                      out=str(tmp_path))
    trainer.extend(ProgressBar(update_interval=1, out=io.StringIO()))
    with pytest.raises(ValueError, match='ProgressBar: give training_length'):
        trainer.run(show_loop_exception_msg=False)
