"""ObservationAggregator and MultiNodeEarlyStoppingTrigger: values and decisions over every
rank, the same on every rank. MPI tests pass at any number of ranks."""
import numpy
import pytest

import dchain
from dchain import distributed


class Updater:
    def __init__(self):
        self.iteration = 0
        self.epoch = 0
        self.epoch_detail = 0.0
        self.previous_epoch_detail = None


class Trainer:
    """What triggers and extensions read: the updater's position and the observation."""

    def __init__(self):
        self.updater = Updater()
        self.observation = {}

    def step(self, observation):
        self.updater.iteration += 1
        self.updater.epoch_detail = self.updater.iteration / 10
        self.observation = dict(observation)


def local_value(rank, size, iteration):
    """Differs between ranks; its mean over ranks is 10 + iteration."""
    return 10.0 + iteration + (rank - (size - 1) / 2) * 3.0


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
def test_aggregator_writes_the_mean_over_ranks_and_iterations(mpi):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    aggregator = distributed.ObservationAggregator(comm, 'main/loss', 'main/loss_all',
                                                   comm_trigger=(2, 'iteration'))
    trainer = Trainer()
    seen = []
    for _ in range(6):
        trainer.step({'main/loss': dchain.Variable(numpy.array(
            local_value(comm.rank, comm.size, trainer.updater.iteration + 1), numpy.float32))})
        aggregator(trainer)
        seen.append(trainer.observation.get('main/loss_all'))
        assert float(trainer.observation['main/loss'].array) == pytest.approx(
            local_value(comm.rank, comm.size, trainer.updater.iteration))  # left as it was
    assert seen[0::2] == [None] * 3
    assert seen[1::2] == pytest.approx([11.5, 13.5, 15.5])
    assert len({repr(theirs) for theirs in comm.allgather_obj(seen)}) == 1


@pytest.mark.mpi
def test_aggregator_with_a_key_missing_on_some_ranks_and_a_custom_aggregator():
    comm = distributed.create_communicator('mpi')
    aggregator = distributed.ObservationAggregator(
        comm, 'x', aggregator=lambda gathered: [len(values) for values in gathered])
    trainer = Trainer()
    trainer.step({'x': 1.0} if comm.rank == 0 else {})  # an observation on rank 0 only
    aggregator(trainer)
    assert trainer.observation['x'] == [1] + [0] * (comm.size - 1)


def test_aggregator_writes_nothing_when_no_rank_observed_the_key():
    comm = distributed.create_communicator('single')
    aggregator = distributed.ObservationAggregator(comm, 'x')
    trainer = Trainer()
    trainer.step({})
    aggregator(trainer)
    assert trainer.observation == {}


def test_aggregator_refuses_bad_arguments():
    comm = distributed.create_communicator('single')
    with pytest.raises(TypeError, match='original_key must be a str'):
        distributed.ObservationAggregator(comm, 3)
    with pytest.raises(TypeError, match='aggregator must be callable'):
        distributed.ObservationAggregator(comm, 'x', aggregator=1)


MEANS = [5.0, 4.0, 3.0, 3.5, 3.2, 2.0, 1.0]  # best at the 3rd check, then 2 worse ones


def run_early_stopping(comm, patience=2, steps=len(MEANS)):
    trigger = distributed.MultiNodeEarlyStoppingTrigger(
        comm, check_trigger=(1, 'iteration'), monitor='main/loss', patience=patience,
        max_trigger=(100, 'iteration'))
    trainer = Trainer()
    for i in range(steps):
        # each rank's own values go the other way half of the time; only the mean decides
        spread = (comm.rank - (comm.size - 1) / 2) * (4.0 if i % 2 else -4.0)
        trainer.step({'main/loss': MEANS[i] + spread})
        if trigger(trainer):
            return trainer.updater.iteration, trigger
    return None, trigger


@pytest.mark.parametrize('mpi', [False, pytest.param(True, marks=pytest.mark.mpi)])
def test_early_stopping_decides_on_the_mean_over_ranks(mpi):
    comm = distributed.create_communicator('mpi' if mpi else 'single')
    stopped_at, trigger = run_early_stopping(comm)
    assert stopped_at == 5
    assert trigger.best == pytest.approx(3.0)
    assert set(comm.allgather_obj(stopped_at)) == {5}


def test_early_stopping_waits_for_patience_and_max_trigger():
    comm = distributed.create_communicator('single')
    assert run_early_stopping(comm, patience=3)[0] is None
    trigger = distributed.MultiNodeEarlyStoppingTrigger(comm, max_trigger=(2, 'iteration'))
    assert trigger.get_training_length() == (2, 'iteration')
    trainer = Trainer()
    fired = []
    for _ in range(2):
        trainer.step({})
        fired.append(trigger(trainer))
    assert fired == [False, True]


def test_early_stopping_mode_and_arguments():
    comm = distributed.create_communicator('single')
    assert distributed.MultiNodeEarlyStoppingTrigger(
        comm, monitor='validation/main/accuracy').mode == 'max'
    assert distributed.MultiNodeEarlyStoppingTrigger(comm, patients=5).patience == 5
    with pytest.raises(ValueError, match="mode must be one of"):
        distributed.MultiNodeEarlyStoppingTrigger(comm, mode='lowest')
    with pytest.raises(ValueError, match='patience must be a positive int'):
        distributed.MultiNodeEarlyStoppingTrigger(comm, patience=0)
    with pytest.raises(TypeError, match='unexpected arguments'):
        distributed.MultiNodeEarlyStoppingTrigger(comm, patience_=2)


def test_early_stopping_state_is_saved_and_loaded():
    from dchain import serializers
    comm = distributed.create_communicator('single')
    _, trigger = run_early_stopping(comm, patience=5, steps=4)
    saved = {}
    serializers.DictionarySerializer(saved).save(trigger)
    fresh = distributed.MultiNodeEarlyStoppingTrigger(comm, patience=5)
    serializers.NpzDeserializer(saved).load(fresh)
    assert (fresh.best, fresh.count) == (3.0, 1)
