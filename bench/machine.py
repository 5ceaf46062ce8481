"""The machine and the software a benchmark run measured: CPU, cores, memory, each
interpreter's NumPy and BLAS, the frameworks' versions and the MPI library."""
import datetime
import json
import os
import platform
import subprocess

# Run inside each interpreter: NumPy's version, its BLAS as built and as running (OpenBLAS
# picks a kernel per CPU at load time), and the version of the framework it holds.
_PROBE = r'''
import ctypes, json, sys
import numpy
info = {"python": sys.version.split()[0], "numpy": numpy.__version__}
try:
    blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info["blas"] = "{} {}".format(blas.get("name"), blas.get("version"))
except Exception as error:
    info["blas"] = "unknown ({})".format(error)
with open("/proc/self/maps") as maps:
    libs = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
for path in libs:
    lib = ctypes.CDLL(path)
    for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_",
                 "scipy_openblas_get_corename", "openblas_get_corename"):
        function = getattr(lib, name, None)
        if function is not None:
            function.restype = ctypes.c_char_p
            info["blas_core"] = function().decode()
            break
for module in ("dchain", "chainer", "torch", "mpi4py"):
    try:
        info[module] = __import__(module).__version__
    except Exception:
        pass
try:
    from mpi4py import MPI
    info["mpi"] = MPI.Get_library_version().splitlines()[0].strip()
except Exception:
    pass
print(json.dumps(info))
'''


def _cpuinfo():
    model, flags = 'unknown', ''
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(':')
                key = key.strip()
                if key == 'model name' and model == 'unknown':
                    model = value.strip()
                elif key == 'flags' and not flags:
                    flags = value
    except OSError:
        pass
    extensions = [name for name in ('avx2', 'avx512f', 'fma') if name in flags.split()]
    return model, extensions


def _memory_gib():
    try:
        with open('/proc/meminfo') as meminfo:
            for line in meminfo:
                if line.startswith('MemTotal:'):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return None


def _git_revision(root):
    try:
        revision = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=root,
                                  capture_output=True, text=True, timeout=10).stdout.strip()
        return revision or None
    except (OSError, subprocess.SubprocessError):
        return None


def probe(python, root=None):
    """Versions and BLAS seen by the interpreter ``python`` (None when it cannot run); with
    ``root``, the dchain checkout there is importable."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    if root:
        env['PYTHONPATH'] = root
    try:
        # Run from / so that no interpreter imports a package from the current folder.
        result = subprocess.run([python, '-c', _PROBE], capture_output=True, text=True,
                                timeout=120, env=env, cwd='/')
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def describe(root, pythons):
    """A dict describing this machine and, per label, what ``pythons[label]`` runs (the
    'dchain' one with the checkout at ``root`` importable)."""
    model, extensions = _cpuinfo()
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu': model,
        'cpu_extensions': extensions,
        'cores': os.cpu_count(),
        'usable_cores': usable,
        'memory_gib': _memory_gib(),
        'load_average': os.getloadavg(),
        'kernel': platform.release(),
        'libc': ' '.join(platform.libc_ver()),
        'dchain_revision': _git_revision(root),
        'interpreters': {label: probe(python, root if label == 'dchain' else None)
                         for label, python in pythons.items()},
    }
