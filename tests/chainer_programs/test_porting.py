"""The porting harness changes imports and nothing else."""
import pathlib

import pytest

from porting import PROGRAMS, port_source


@pytest.mark.parametrize('original, ported', [
    ('import chainer\n', 'import dchain as chainer\n'),
    ('import chainer.functions as F\n', 'import dchain.functions as F\n'),
    ('from chainer import training\n', 'from dchain import training\n'),
    ('from chainer.training import extensions\n', 'from dchain.training import extensions\n'),
    ('import chainermn\n', 'import dchain.distributed as chainermn\n'),
    ('from chainermn.links import MultiNodeChainList\n',
     'from dchain.distributed.links import MultiNodeChainList\n'),
    ('import chainer.links\n', 'import dchain.links; import dchain as chainer\n'),
    ('import chainerx\n', 'chainerx = None\n'),
    ('import numpy as np\n', 'import numpy as np\n'),
    ('import chainerrl\n', 'import chainerrl\n'),
    ('def f():\n    import chainer  # noqa\n', 'def f():\n    import dchain as chainer  # noqa\n'),
    ('from chainer import (\n    Chain,\n    Link)\nx = 1\n',
     'from dchain import Chain, Link\n\n\nx = 1\n'),
])
def test_port_source(original, ported):
    assert port_source(original) == ported


def test_every_program_keeps_its_lines():
    files = sorted(pathlib.Path(PROGRAMS).rglob('*.py'))
    assert len(files) > 40
    for path in files:
        original = path.read_text(encoding='utf-8')
        ported = port_source(original)
        assert ported.count('\n') == original.count('\n'), path
        changed = [(a, b) for a, b in zip(original.splitlines(), ported.splitlines()) if a != b]
        for before, _ in changed:
            assert 'import' in before and 'chainer' in before, (path, before)
        assert 'import chainer' not in ported and 'from chainer' not in ported, path
