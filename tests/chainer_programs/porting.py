"""Run Chainer's own example programs on dchain with only their imports changed.

``programs/`` holds verbatim copies of Chainer v7.8.1's ``examples/`` (MIT licence, see
``LICENSE.chainer``). ``port_source`` rewrites their import statements and nothing else:

    import chainer                     ->  import dchain as chainer
    import chainer.functions as F      ->  import dchain.functions as F
    from chainer import training       ->  from dchain import training
    from chainer.training import ...   ->  from dchain.training import ...
    import chainermn                   ->  import dchain.distributed as chainermn
    from chainermn import ...          ->  from dchain.distributed import ...
    import chainerx                    ->  chainerx = None   (dchain has no ChainerX; the
                                           programs only compare ``device.xp`` against it)

Every other line, the line numbers included, stays as Chainer wrote it. ``run_program`` copies
a program's folder to a temporary one, ports every ``.py`` file in it, and runs the program in a
fresh process (or under ``mpirun -n N``), offline, on the CPU.
"""
import ast
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, 'programs')
REPO = os.path.dirname(os.path.dirname(HERE))
_RENAMES = (('chainermn', 'dchain.distributed'), ('chainer', 'dchain'))
_MPI_ENV = ('PMI_RANK', 'PMI_SIZE', 'PMI_FD', 'PMIX_RANK', 'MPI_LOCALNRANKS', 'HYDI_CONTROL_FD',
            'OMPI_COMM_WORLD_SIZE')


def _rename(module):
    """dchain's name for ``module``, or None when it is not Chainer's."""
    for old, new in _RENAMES:
        if module == old or module.startswith(old + '.'):
            return new + module[len(old):]
    return None


def _port_import(node):
    """The replacement statements for one import node (a list of strings), or None to keep it."""
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module is None:
            return None
        if node.module == 'chainerx' or node.module.startswith('chainerx.'):
            return ['chainerx = None']
        module = _rename(node.module)
        if module is None:
            return None
        names = ', '.join(alias.name + (' as ' + alias.asname if alias.asname else '')
                          for alias in node.names)
        return ['from {} import {}'.format(module, names)]
    statements = []
    changed = False
    for alias in node.names:
        if alias.name == 'chainerx' or alias.name.startswith('chainerx.'):
            statements.append('{} = None'.format(alias.asname or 'chainerx'))
            changed = True
            continue
        module = _rename(alias.name)
        if module is None:
            statements.append('import ' + alias.name +
                              (' as ' + alias.asname if alias.asname else ''))
        elif alias.asname or '.' not in alias.name:
            statements.append('import {} as {}'.format(module, alias.asname or alias.name))
            changed = True
        else:
            # ``import chainer.links`` binds ``chainer``: import the submodule, bind the top.
            top = alias.name.split('.')[0]
            statements.append('import {}'.format(module))
            statements.append('import {} as {}'.format(_rename(top), top))
            changed = True
    return statements if changed else None


def port_source(source):
    """``source`` with every import of chainer, chainermn and chainerx changed, nothing else."""
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            statements = _port_import(node)
            if statements is not None:
                edits.append((node.lineno, node.end_lineno, node.col_offset, node.end_col_offset,
                              statements))
    for first, last, column, end_column, statements in sorted(edits, reverse=True):
        # Keep the line count, so that tracebacks point at Chainer's own line numbers, and
        # whatever shares the import's first or last line.
        head = lines[first - 1][:column]
        tail = lines[last - 1][end_column:]
        lines[first - 1:last] = [head + '; '.join(statements) + tail] + ['\n'] * (last - first)
    return ''.join(lines)


def port_tree(source_folder, destination):
    """Copy ``source_folder`` to ``destination`` with every ``.py`` file ported."""
    shutil.copytree(source_folder, destination)
    for folder, _, files in os.walk(destination):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                with open(path, encoding='utf-8') as f:
                    text = f.read()
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(port_source(text))
    return destination


_RUNNER = '''\
import os, runpy, sys
script = sys.argv[1]
preamble = os.environ.get('DCHAIN_PORTED_PREAMBLE')
if preamble:
    exec(compile(open(preamble).read(), preamble, 'exec'), {'__name__': '__preamble__'})
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
runpy.run_path(script, run_name='__main__')
'''


def mpirun_path():
    """The mpirun installed beside this Python (the mpich wheel), else the PATH's, else None."""
    return shutil.which('mpirun', path=os.path.dirname(sys.executable)) or shutil.which('mpirun')


def run_program(program, args=(), tmp_path=None, n=None, preamble=None, timeout=600, env=None):
    """Run Chainer's example ``program`` (e.g. ``'mnist/train_mnist.py'``) ported to dchain.

    The program's folder is copied to ``tmp_path/<folder>`` and ported; the program runs there
    (its working directory) with ``args``. ``n``: run under ``mpirun -n n``. ``preamble``:
    Python source run in the same process before the program, e.g. to feed small local data in
    place of a download (the program itself stays untouched). Returns the CompletedProcess
    (``stdout``, ``stderr`` as text); the caller checks ``returncode``.
    """
    if tmp_path is None:
        raise ValueError('run_program: tmp_path is required')
    tmp_path = str(tmp_path)
    folder = os.path.dirname(program)
    source = os.path.join(PROGRAMS, folder)
    destination = os.path.join(tmp_path, folder or 'program')
    if not os.path.isdir(destination):
        port_tree(source, destination)
    runner = os.path.join(tmp_path, '_run_ported.py')
    with open(runner, 'w') as f:
        f.write(_RUNNER)
    environment = dict(os.environ)
    for name in _MPI_ENV:
        environment.pop(name, None)
    environment.update(
        OMP_NUM_THREADS='1', DCHAIN_OFFLINE='1', MPLBACKEND='Agg',
        DCHAIN_DATASET_ROOT=os.path.join(tmp_path, 'dataset'),
        PYTHONPATH=os.pathsep.join([REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    environment.setdefault('DCHAIN_COLLECTIVE_TIMEOUT', '120')
    if preamble is not None:
        path = os.path.join(tmp_path, '_preamble.py')
        with open(path, 'w') as f:
            f.write(preamble)
        environment['DCHAIN_PORTED_PREAMBLE'] = path
    if env:
        environment.update(env)
    command = [sys.executable, runner, os.path.basename(program)] + [str(a) for a in args]
    if n is not None:
        mpirun = mpirun_path()
        if mpirun is None:
            raise RuntimeError('run_program: no mpirun beside {} or on the PATH'.format(
                sys.executable))
        command = [mpirun, '-n', str(n)] + command
    return subprocess.run(command, cwd=destination, env=environment, capture_output=True,
                          text=True, timeout=timeout)


def check(result):
    """Assert that a run ended well, showing its output when it did not; returns stdout."""
    assert result.returncode == 0, 'exit {}\n--- stdout\n{}\n--- stderr\n{}'.format(
        result.returncode, result.stdout[-6000:], result.stderr[-6000:])
    return result.stdout


def make_images(root, count, size):
    """Write ``count`` RGB PNG files of two classes (bright top or bright left, with noise)
    into ``root``; returns the list of ``path label`` lines (the image programs' format)."""
    import numpy
    from PIL import Image
    rng = numpy.random.RandomState(0)
    lines = []
    for i in range(count):
        label = i % 2
        image = rng.randint(0, 64, (size, size, 3))
        if label:
            image[:size // 2] += 160
        else:
            image[:, :size // 2] += 160
        name = 'image{}.png'.format(i)
        Image.fromarray(image.astype(numpy.uint8)).save(os.path.join(root, name))
        lines.append('{} {}\n'.format(name, label))
    return lines
