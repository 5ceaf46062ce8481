import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc only')]


def applied(**env):
    environ = {k: v for k, v in os.environ.items()
               if k not in ('DCHAIN_MALLOC_TUNING', 'MALLOC_MMAP_THRESHOLD_',
                            'MALLOC_TRIM_THRESHOLD_')}
    environ.update(env)
    out = subprocess.run([sys.executable, '-c', 'import dchain; print(dchain._malloc.applied)'],
                         capture_output=True, text=True, check=True, env=environ).stdout
    return out.strip()


def test_tuned_by_default_and_opt_out():
    import ctypes
    try:
        ctypes.CDLL('libc.so.6').mallopt
    except (OSError, AttributeError):
        pytest.skip('not glibc')
    assert applied() == 'True'
    assert applied(DCHAIN_MALLOC_TUNING='0') == 'False'
    assert applied(MALLOC_MMAP_THRESHOLD_='1000000') == 'False'  # the user's setting wins
