"""The agreement header without MPI: the packed headers of simulated ranks, summed as the
allreduce would, agree exactly when every field agrees (wildcards aside)."""
import numpy
import pytest

from dchain.distributed import agreement


def summed(*headers, payloads=None):
    payloads = payloads or [None] * len(headers)
    return sum(agreement.pack(agreement.header(*h[:2], **h[2]), p)
               for h, p in zip(headers, payloads))


def test_equal_headers_agree_and_carry_their_payload():
    h = ('allreduce', 57, {'dtype': numpy.float32, 'count': 8, 'reduction': 'sum', 'tag': 3})
    reduced = summed(h, h, h, payloads=[numpy.arange(4), numpy.ones(4, numpy.int64),
                                        numpy.zeros(4, numpy.int64)])
    assert agreement.agreed(reduced)
    numpy.testing.assert_array_equal(agreement.payload_of(reduced, 4), [1, 2, 3, 4])


@pytest.mark.parametrize('field,values', [
    ('count', (3, 4, 5)),                     # the middle rank equals the mean
    ('count', (1 << 40, (1 << 40) + (1 << 20))),  # differ above the lowest limb
    ('tag', (7, 6)),
    ('dtype', (numpy.float32, numpy.float64)),
])
def test_any_difference_is_seen(field, values):
    headers = [('allreduce', 1, {field: v}) for v in values]
    assert not agreement.agreed(summed(*headers))


def test_wildcards_match_anything_and_announcements_must_match():
    root = ('bcast', 2, {'dtype': numpy.float64, 'count': 6, 'root': 0})
    other = ('bcast', 2, {'root': 0})
    assert agreement.agreed(summed(root, other, other))
    announcing = ('allreduce', 3, {'announce': (numpy.float32, 10)})
    silent = ('allreduce', 3, {})
    assert agreement.agreed(summed(announcing, announcing))
    assert not agreement.agreed(summed(announcing, silent))


def test_mismatch_message_names_each_rank():
    rows = numpy.stack([agreement.header('allreduce', 57, numpy.float32, 8),
                        agreement.header('allreduce', 57, numpy.float64, 8)])
    error = agreement.mismatch('allreduce', 57, rows)
    assert 'allreduce #57: rank 0 sends float32[8], rank 1 sends float64[8]' in str(error)
    assert error.headers[1]['dtype'] == 'float64'
