import numpy
import pytest

from dchain.training import Trainer
from dchain.training.extensions import FailOnNonNumber

from .._fakes import FakeUpdater


def _trainer(tmp_path, bad_value, at=3):
    updater = FakeUpdater()
    original = updater.update

    def update():
        original()
        if updater.iteration == at:
            updater.model.W.array[1] = bad_value
    updater.update = update
    trainer = Trainer(updater, (6, 'iteration'), out=str(tmp_path))
    return trainer


@pytest.mark.parametrize('raise_on_nonfinite', [False, True])
def test_stops_on_nan_naming_the_parameter(tmp_path, raise_on_nonfinite):
    trainer = _trainer(tmp_path, numpy.nan)
    trainer.extend(FailOnNonNumber(raise_on_nonfinite=raise_on_nonfinite))
    with pytest.raises(RuntimeError, match=r"FailOnNonNumber: parameter /W of optimizer 'main' "
                                           r"holds NaN.* at iteration 3: training diverged"):
        trainer.run(show_loop_exception_msg=False)
    assert trainer.updater.iteration == 3


def test_infinity_fails_only_when_asked(tmp_path):
    trainer = _trainer(tmp_path, numpy.inf)
    trainer.extend(FailOnNonNumber())
    trainer.run()
    assert trainer.updater.iteration == 6
    trainer = _trainer(tmp_path, -numpy.inf)
    trainer.extend(FailOnNonNumber(raise_on_nonfinite=True))
    with pytest.raises(RuntimeError, match='holds NaN or inf at iteration 3'):
        trainer.run(show_loop_exception_msg=False)


def test_large_finite_values_pass(tmp_path):
    # the float32 sum overflows, the values themselves are finite
    trainer = _trainer(tmp_path, 3e38)
    trainer.updater.model.W.array[:] = 3e38
    trainer.extend(FailOnNonNumber(raise_on_nonfinite=True))
    trainer.run()
    assert trainer.updater.iteration == 6
