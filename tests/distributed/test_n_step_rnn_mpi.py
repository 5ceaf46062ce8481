"""create_multi_node_n_step_rnn: an encoder on rank 0 hands its states to a decoder on rank 1;
run under ``mpirun -n N python -m mpi4py -m pytest --with-mpi -m mpi`` (N >= 2 for the
exchange; ranks beyond 1 only check the errors)."""
import numpy
import pytest

import dchain
import dchain.functions as F
import dchain.links as L
from dchain import distributed
from dchain.distributed.links import MultiNodeNStepRNN, create_multi_node_n_step_rnn

pytestmark = pytest.mark.mpi


@pytest.fixture(scope='module')
def comm():
    return distributed.create_communicator('mpi')


def _sequences(seed, lengths, units):
    rng = numpy.random.RandomState(seed)
    return [rng.randn(n, units).astype(numpy.float32) for n in lengths]


@pytest.mark.parametrize('rnn', [L.NStepLSTM, L.NStepGRU, L.NStepRNNTanh])
def test_encoder_decoder_over_two_ranks_equals_one_rank(comm, rnn):
    if comm.size < 2:
        pytest.skip('needs two ranks')
    dchain.random.seed(4)  # the same two RNNs on every rank, for the reference
    encoder, decoder = rnn(2, 3, 5, 0.0), rnn(2, 3, 5, 0.0)
    xs = _sequences(0, [4, 2, 3], 3)
    ys = _sequences(1, [2, 5, 1], 3)
    n_cells = encoder.n_cells
    if comm.rank == 0:
        link = create_multi_node_n_step_rnn(encoder, comm, rank_in=None, rank_out=1)
        outputs = link(xs)
        assert len(outputs) == n_cells + 2 and outputs[-1].shape == (0,)
        outputs[-1].backward()  # receives the gradient of the states from rank 1
        got = [p.grad.copy() for p in encoder.params()]
        assert any(numpy.abs(g).max() > 0 for g in got)
    elif comm.rank == 1:
        link = create_multi_node_n_step_rnn(decoder, comm, rank_in=0, rank_out=None)
        outputs = link(ys)
        assert len(outputs) == n_cells + 2 and outputs[-1] is None
        decoded = outputs[n_cells]
        F.sum(F.concat(decoded, axis=0) ** 2).backward()
        got = [p.grad.copy() for p in decoder.params()]
    else:
        return
    assert link.actual_rnn is (encoder if comm.rank == 0 else decoder)
    encoder.cleargrads()
    decoder.cleargrads()
    states = encoder(*((None,) * n_cells + (xs,)))[:n_cells]
    reference = decoder(*(tuple(states) + (ys,)))[n_cells]
    if comm.rank == 1:
        for y, y_ref in zip(decoded, reference):
            numpy.testing.assert_allclose(y.array, y_ref.array, rtol=1e-5, atol=1e-6)
    F.sum(F.concat(reference, axis=0) ** 2).backward()
    mine = encoder if comm.rank == 0 else decoder
    for grad, param in zip(got, mine.params()):
        numpy.testing.assert_allclose(grad, param.grad, rtol=1e-4, atol=1e-6)


def test_without_backprop_the_states_still_travel(comm):
    if comm.size < 2:
        pytest.skip('needs two ranks')
    dchain.random.seed(5)
    encoder, decoder = L.NStepLSTM(1, 2, 3, 0.0), L.NStepLSTM(1, 2, 3, 0.0)
    xs = _sequences(2, [3, 1], 2)
    with dchain.no_backprop_mode():
        if comm.rank == 0:
            create_multi_node_n_step_rnn(encoder, comm, rank_out=1)(xs)
        elif comm.rank == 1:
            start = _sequences(3, [1, 1], 2)
            hy, cy, ys, _ = create_multi_node_n_step_rnn(decoder, comm, rank_in=0)(start)
            h_ref, c_ref, _ = encoder(None, None, xs)
            hy_ref, cy_ref, ys_ref = decoder(h_ref, c_ref, start)
            for got, expected in zip([hy, cy] + list(ys), [hy_ref, cy_ref] + list(ys_ref)):
                numpy.testing.assert_allclose(got.array, expected.array, rtol=1e-6)


def test_errors(comm):
    with pytest.raises(TypeError, match='create_multi_node_n_step_rnn: link must be an NStep '
                                        'RNN link .*got Linear'):
        create_multi_node_n_step_rnn(L.Linear(2, 3), comm)
    with pytest.raises(ValueError, match=r'create_multi_node_n_step_rnn \(rank_out\): rank '
                                         r'must be another rank than this one'):
        create_multi_node_n_step_rnn(L.NStepGRU(1, 2, 2, 0.0), comm, rank_out=comm.rank)
    with pytest.raises(ValueError, match=r'create_multi_node_n_step_rnn \(rank_in\): rank must '
                                         r'be a rank of the communicator'):
        create_multi_node_n_step_rnn(L.NStepGRU(1, 2, 2, 0.0), comm, rank_in=comm.size)
    link = create_multi_node_n_step_rnn(L.NStepGRU(1, 2, 2, 0.0), comm)
    assert isinstance(link, MultiNodeNStepRNN) and link.n_cells == 1
    # neither rank_in nor rank_out: the plain RNN, and no delegate variable
    hy, ys, delegate = link(_sequences(0, [2], 2))
    assert hy.shape == (1, 1, 2) and ys[0].shape == (2, 2) and delegate is None
    assert [name for name, _ in link.namedparams()][0].startswith('/actual_rnn/0/')
