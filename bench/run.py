#!/usr/bin/env python
"""dchain's benchmark suite: training steps of the same models in dchain and its peers, side
by side in one run.

    OMP_NUM_THREADS=1 python bench/run.py [--rows mlp-large,cnn] [--repeats 7] [--quick]
                                          [--write-docs] [--json results.json]

Rows: mlp-large, mlp-small, cnn, floor, dp-2, overhead, overhead-tiny, memory (see
docs/performance.md). Each framework runs in its own worker process (bench/workers/), one
thread per process; the runner alternates the workers block by block, pools the per-step
times and reports medians and ratios of medians next to the project's targets. Peers are
optional: Chainer 7 (and ChainerMN) through ``--chainer-python``, PyTorch through
``--torch-python``; without them dchain runs alone and the table says so. dchain tunes glibc's
malloc at import (dchain/_malloc.py); the dchain column is also measured with that tuning
off (``dchain-untuned``, ``DCHAIN_MALLOC_TUNING=0``; ``--no-malloc`` skips it).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import machine
import measure
import report

ROWS = ('mlp-large', 'floor', 'mlp-small', 'cnn', 'dp-2', 'overhead', 'overhead-tiny', 'memory')
STEP_ROWS = ('mlp-large', 'mlp-small', 'cnn', 'overhead', 'overhead-tiny')
# Steps per block: roughly half a second of dchain's time each.
STEPS = {'mlp-large': 30, 'mlp-small': 400, 'cnn': 20, 'floor': 40, 'overhead': 1500,
         'overhead-tiny': 3000, 'dp-2': 25}
OPS_PER_OVERHEAD_STEP = 8
BUNDLED_MNIST = os.path.join(measure.ROOT, 'dchain', 'datasets', 'data', 'mnist_5k.npz')
DP_PHASES = {'one_rank': 'dp-2: 1 rank', 'two_ranks': 'dp-2: 2 ranks',
             'one_rank_each': 'dp-2: 1 rank, both ranks'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', default=','.join(ROWS),
                        help='comma-separated rows to run (default: all)')
    parser.add_argument('--repeats', type=int, default=7,
                        help='blocks per framework in each step row, alternated (default 7)')
    parser.add_argument('--dp-repeats', type=int, default=4,
                        help='mpirun jobs per framework for dp-2, alternated (default 4)')
    parser.add_argument('--memory-repeats', type=int, default=3,
                        help='training runs per framework for memory (default 3)')
    parser.add_argument('--steps-scale', type=float, default=1.0,
                        help='multiply the steps per block by this')
    parser.add_argument('--quick', action='store_true',
                        help='3 repeats of shorter blocks, 2 dp jobs, 1 memory run each')
    parser.add_argument('--chainer-python', default='/work/chainer-venv/bin/python',
                        help="the interpreter with chainer==7.8.1 (and mpi4py for ChainerMN)")
    parser.add_argument('--torch-python', default=sys.executable,
                        help='the interpreter with torch (default: this one)')
    parser.add_argument('--dchain-python', default=sys.executable,
                        help='the interpreter for dchain and the NumPy floor (default: this one)')
    parser.add_argument('--no-peers', action='store_true', help='measure dchain alone')
    parser.add_argument('--no-malloc', action='store_true',
                        help='skip the dchain column with its malloc tuning off')
    parser.add_argument('--malloc-all', action='store_true',
                        help='run the peers with the same malloc tuning dchain applies (then '
                        'there is no untuned dchain column)')
    parser.add_argument('--json', help='write every sample and result to this file')
    parser.add_argument('--from-json', help='print (and with --write-docs, write) the '
                        'results of an earlier --json file instead of measuring')
    parser.add_argument('--write-docs', action='store_true',
                        help='write docs/performance.md and docs/performance.png')
    parser.add_argument('--docs', default=os.path.join(measure.ROOT, 'docs', 'performance.md'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rows = [row.strip() for row in args.rows.split(',') if row.strip()]
    unknown = [row for row in args.rows if row not in ROWS]
    if unknown:
        parser.error('unknown rows {} (choose from {})'.format(
            ', '.join(unknown), ', '.join(ROWS)))
    if args.quick:
        args.repeats, args.dp_repeats, args.memory_repeats = 3, 2, 1
        args.steps_scale *= 0.4
    if min(args.repeats, args.dp_repeats, args.memory_repeats) < 1 or args.steps_scale <= 0:
        parser.error('repeats and --steps-scale must be positive')
    return args


def _works(python, code):
    try:
        return subprocess.run([python, '-c', code], capture_output=True, timeout=120,
                              env=measure.Variant('', python, '').env()).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def find_variants(args, say):
    """The variants that can run here, and a note for each peer that cannot."""
    tuning = measure.MALLOC_TUNING if args.malloc_all else {}
    dchain_env = dict(tuning, PYTHONPATH=measure.ROOT)
    variants = {'dchain': measure.Variant('dchain', args.dchain_python, 'dchain_worker.py',
                                          dchain_env)}
    if not (args.no_malloc or args.malloc_all):
        variants['dchain-untuned'] = measure.Variant(
            'dchain-untuned', args.dchain_python, 'dchain_worker.py',
            dict(dchain_env, DCHAIN_MALLOC_TUNING='0'))
    variants['floor'] = measure.Variant('floor', args.dchain_python, 'numpy_worker.py',
                                        tuning)
    missing = []
    if args.no_peers:
        missing.append('peers skipped (--no-peers)')
        return variants, missing, False
    chainer = args.chainer_python
    if chainer and _works(chainer, 'import chainer'):
        variants['chainer'] = measure.Variant('chainer', chainer, 'chainer_worker.py', tuning)
    else:
        missing.append('Chainer: not found at --chainer-python {}'.format(chainer))
    chainermn = 'chainer' in variants and _works(chainer, 'import chainermn, mpi4py.MPI')
    if 'chainer' in variants and not chainermn:
        missing.append('ChainerMN: chainermn or mpi4py does not import in {}'.format(chainer))
    if args.torch_python and _works(args.torch_python, 'import torch'):
        variants['pytorch'] = measure.Variant('pytorch', args.torch_python, 'torch_worker.py',
                                              tuning)
    else:
        missing.append('PyTorch: torch does not import in --torch-python {}'.format(
            args.torch_python))
    for note in missing:
        say('without ' + note)
    return variants, missing, chainermn


def _steps(args, row):
    return max(3, int(round(STEPS[row] * args.steps_scale)))


def run_step_rows(args, variants, table, units, faults, errors, infos, say):
    for row in STEP_ROWS + ('floor',):
        if row not in args.rows or (row == 'floor' and 'mlp-large' in args.rows):
            continue
        entries = [] if row == 'floor' else [
            (variants[label], row) for label in ('dchain', 'dchain-untuned', 'chainer', 'pytorch')
            if label in variants]
        if 'floor' in args.rows and row in ('mlp-large', 'floor'):
            # Measured with mlp-large, alternated with it, so their ratio is of one run.
            entries.append((variants['floor'], 'floor'))
        samples, failed, seen = measure.alternate_steps(
            entries, row, args.repeats, _steps(args, row), 3, say)
        errors.update({'{} {}'.format(row, label): text for label, text in failed.items()})
        infos.update(seen)
        overhead = row.startswith('overhead')
        scale = 1e6 / OPS_PER_OVERHEAD_STEP if overhead else 1e3
        for label, sample in samples.items():
            target_row = 'floor' if label == 'floor' else row
            table.setdefault(target_row, {})[label] = dict(
                report.summarize(sample['times'], scale, sample['round_medians']),
                maxrss_mib=sample['maxrss_kib'] / 1024)
            units[target_row] = 'us/op' if overhead else 'ms'
            faults.setdefault(target_row, {})[label] = statistics.median(
                sample['minflt_per_step'])


def run_dp(args, variants, chainermn, table, units, errors, infos, say):
    dp_variants = [variants[label] for label in ('dchain', 'dchain-untuned', 'pytorch')
                   if label in variants]
    if chainermn:
        dp_variants.insert(2, variants['chainer'])
    phases, failed, seen = measure.alternate_dp(
        dp_variants, args.dp_repeats, _steps(args, 'dp-2'), 2, 3, say)
    errors.update({'dp-2 ' + label: text for label, text in failed.items()})
    infos.update({label: info for label, info in seen.items() if label not in infos})
    for label, times in phases.items():
        for phase, row in DP_PHASES.items():
            if phase in times:
                table.setdefault(row, {})[label] = report.summarize(times[phase][0], 1e3,
                                                                    times[phase][1])
                units[row] = 'ms'
        allreduce = times.get('allreduce') or times.get('allreduce_gloo')
        if allreduce and label != 'dchain-untuned':
            # mpi4py in the dchain job is the reference the target compares with.
            column = 'floor' if label == 'dchain' else label
            table.setdefault('dp-2: Allreduce', {})[column] = report.summarize(
                allreduce[0], 1e3, allreduce[1])
            units['dp-2: Allreduce'] = 'ms/call'


def run_memory(args, variants, table, units, errors, say):
    example = os.path.join(measure.ROOT, 'examples', 'mnist.py')
    peer = os.path.join(measure.HERE, 'peers', 'chainer_mnist.py')
    # Both sides run without matplotlib: drawing the plots costs ~27 MiB of peak RSS, and
    # Chainer skips PlotReport silently where matplotlib is missing, so whether each side
    # drew depended on what each environment had installed (0.88 recorded with plots on
    # both sides, 1.06-1.18 where only dchain's environment had matplotlib).
    plain = os.path.join(measure.HERE, 'workers', 'without_matplotlib.py')
    runs = {}
    for label in ('dchain', 'dchain-untuned'):
        if label in variants:
            python = variants[label].python
            runs[label] = (variants[label], lambda out, python=python: [
                python, plain, example, '--epoch', '1', '--out', out])
    if 'chainer' in variants:
        python = variants['chainer'].python
        runs['chainer'] = (variants['chainer'], lambda out: [
            python, plain, peer, '--data', BUNDLED_MNIST, '--epoch', '1', '--out', out])
    results, failed = measure.alternate_memory(runs, args.memory_repeats, say)
    errors.update({'memory ' + label: text for label, text in failed.items()})
    for label, values in results.items():
        peaks = [kib for kib, _ in values]
        table.setdefault('memory', {})[label] = dict(
            report.summarize(peaks, 1 / 1024, peaks),
            seconds=statistics.median([seconds for _, seconds in values]))
        units['memory'] = 'MiB'


def order(table):
    """Rows in the order of ROWS, dp-2's sub-rows where dp-2 stands."""
    names = []
    for row in ROWS:
        if row == 'dp-2':
            names += [name for name in ('dp-2: 1 rank', 'dp-2: 2 ranks',
                                        'dp-2: 1 rank, both ranks', 'dp-2: Allreduce')
                      if name in table]
        elif row in table:
            names.append(row)
    return {name: table[name] for name in names}


def measure_all(args, say):
    variants, missing, chainermn = find_variants(args, say)
    # Described first: the load average then is the other work's, not this run's.
    pythons = {'dchain': args.dchain_python}
    for label in ('chainer', 'pytorch'):
        if label in variants and variants[label].python not in pythons.values():
            pythons[label] = variants[label].python
    described = machine.describe(measure.ROOT, pythons)
    table, units, faults, errors, infos = {}, {}, {}, {}, {}
    start = time.time()
    run_step_rows(args, variants, table, units, faults, errors, infos, say)
    if 'dp-2' in args.rows:
        run_dp(args, variants, chainermn, table, units, errors, infos, say)
    if 'memory' in args.rows:
        run_memory(args, variants, table, units, errors, say)
    settings = ('{} blocks per framework and row (steps per block x{:.2f}), {} mpirun jobs per '
                'framework for dp-2, {} runs for memory; one thread per process; malloc '
                'tuning {} ({})'.format(
                    args.repeats, args.steps_scale, args.dp_repeats, args.memory_repeats,
                    ' '.join('{}={}'.format(k, v) for k, v in measure.MALLOC_TUNING.items()),
                    'for every framework' if args.malloc_all else 'applied by dchain itself; '
                    'off in the dchain-untuned column' if not args.no_malloc
                    else 'applied by dchain itself'))
    return {'table': order(table), 'units': units, 'faults': faults, 'errors': errors,
            'missing': missing, 'infos': infos, 'settings': settings,
            'seconds': time.time() - start, 'machine': described}


def notes(results):
    lines = []
    faults = results['faults']
    rows = [row for row in faults if any(v >= 10 for v in faults[row].values())]
    if rows:
        lines.append('Minor page faults per step (fresh pages the kernel had to zero), where '
                     'any framework had 10 or more: ' + '; '.join(
                         '{}: {}'.format(row, ', '.join('{} {:.0f}'.format(label, value)
                                                        for label, value in faults[row].items()))
                         for row in rows) + '.')
    cells = [(row, label, entry['maxrss_mib']) for row, entries in results['table'].items()
             for label, entry in entries.items() if 'maxrss_mib' in entry
             and label in ('dchain', 'dchain-untuned')]
    if cells:
        lines.append('Peak RSS of the dchain workers (MiB): ' + '; '.join(
            '{}: {}'.format(row, ', '.join('{} {:.0f}'.format(label, value)
                                           for r, label, value in cells if r == row))
            for row in dict.fromkeys(row for row, _, _ in cells)) + '.')
    memory = results['table'].get('memory')
    if memory:
        lines.append('Memory runs took (wall clock, imports included): ' + ', '.join(
            '{} {:.1f} s'.format(label, entry['seconds']) for label, entry in memory.items())
            + '.')
    for note in results['missing']:
        lines.append('Not measured: {}.'.format(note))
    for where, text in results['errors'].items():
        lines.append('Failed: {}: {}'.format(where, text.splitlines()[-1] if text else ''))
    return [line + '\n' for line in lines]


def main(argv=None):
    args = parse_args(argv)
    started = time.time()

    def say(message):
        sys.stderr.write('[{:6.1f} s] {}\n'.format(time.time() - started, message))
        sys.stderr.flush()

    if args.from_json:
        with open(args.from_json) as handle:
            results = json.load(handle)
    else:
        results = measure_all(args, say)
        # The command that produced the numbers, for the report (without the output options).
        kept = [arg for arg in (sys.argv[1:] if argv is None else argv)
                if arg != '--write-docs']
        results['machine']['command'] = ' '.join(['python', 'bench/run.py'] + kept)
        if args.json:
            with open(args.json, 'w') as handle:
                json.dump(results, handle, indent=1)
    ratio_rows = report.ratios(results['table'])
    print(report.text_tables(results['table'], results['units'], ratio_rows))
    for line in notes(results):
        print(line.rstrip())
    if args.write_docs:
        docs = args.docs
        chart_path = os.path.splitext(docs)[0] + '.png'
        machine_info = results['machine']
        report.chart(results['table'], results['units'], chart_path,
                     'dchain and peers, {}, {} ({} cores), one thread per process'.format(
                         machine_info['date'], machine_info['cpu'], machine_info['cores']))
        report.write_docs(docs, os.path.basename(chart_path), results['table'],
                          results['units'], ratio_rows, results['infos'], machine_info,
                          results['settings'], notes(results))
        say('wrote {} and {}'.format(docs, chart_path))
    return 0 if not results['errors'] else 1


if __name__ == '__main__':
    sys.exit(main())
