"""From measured samples to medians, ratios against the targets, the printed tables, and
docs/performance.md with its chart."""
import os
import statistics

COLUMNS = ('dchain', 'dchain-untuned', 'chainer', 'pytorch', 'floor')
COLUMN_TITLES = {'dchain': 'dchain', 'dchain-untuned': 'dchain, malloc tuning off',
                 'chainer': 'Chainer 7', 'pytorch': 'PyTorch eager', 'floor': 'reference'}
UNITS = {'ms': 'ms per step', 'ms/call': 'ms per call', 'us/op': 'µs per op call',
         'MiB': 'MiB peak RSS'}

# (table row, ratio name, numerator (row, column), denominator (row, column) or a pair of
# them for a difference over a third, target or None). A ratio whose numerator is dchain's is
# also shown with dchain's malloc tuning off.
RATIOS = [
    ('mlp-large', 'dchain / Chainer', ('mlp-large', 'dchain'), ('mlp-large', 'chainer'), 0.95),
    ('mlp-large', 'dchain / floor', ('mlp-large', 'dchain'), ('floor', 'floor'), 1.10),
    ('mlp-large', 'dchain / PyTorch', ('mlp-large', 'dchain'), ('mlp-large', 'pytorch'), None),
    ('mlp-small', 'dchain / Chainer', ('mlp-small', 'dchain'), ('mlp-small', 'chainer'), 0.5),
    ('mlp-small', 'dchain / PyTorch', ('mlp-small', 'dchain'), ('mlp-small', 'pytorch'), 1.0),
    ('cnn', 'dchain / Chainer', ('cnn', 'dchain'), ('cnn', 'chainer'), 0.6),
    ('cnn', 'dchain / PyTorch', ('cnn', 'dchain'), ('cnn', 'pytorch'), 1.5),
    ('dp-2', '2-rank step / 1-rank step', ('dp-2: 2 ranks', 'dchain'),
     ('dp-2: 1 rank', 'dchain'), 1.10),
    ('dp-2', '(2-rank - 1-rank step) / Allreduce', ('dp-2: 2 ranks', 'dchain'),
     (('dp-2: 1 rank', 'dchain'), ('dp-2: Allreduce', 'floor')), 1.2),
    ('dp-2', '2-rank step / ChainerMN 2-rank step', ('dp-2: 2 ranks', 'dchain'),
     ('dp-2: 2 ranks', 'chainer'), 0.95),
    ('dp-2', '2-rank step / PyTorch DDP 2-rank step', ('dp-2: 2 ranks', 'dchain'),
     ('dp-2: 2 ranks', 'pytorch'), None),
    ('dp-2', '2-rank step / 1-rank step on both ranks at once', ('dp-2: 2 ranks', 'dchain'),
     ('dp-2: 1 rank, both ranks', 'dchain'), None),
    ('overhead', 'dchain / PyTorch', ('overhead', 'dchain'), ('overhead', 'pytorch'), None),
    ('overhead', 'dchain / Chainer', ('overhead', 'dchain'), ('overhead', 'chainer'), None),
    ('overhead-tiny', 'dchain / PyTorch', ('overhead-tiny', 'dchain'),
     ('overhead-tiny', 'pytorch'), None),
    ('overhead-tiny', 'dchain / Chainer', ('overhead-tiny', 'dchain'),
     ('overhead-tiny', 'chainer'), None),
    ('memory', 'dchain / Chainer peak RSS', ('memory', 'dchain'), ('memory', 'chainer'), 1.0),
]

ROW_NOTES = {
    'mlp-large': '784-1000-1000-10 MLP, ReLU, softmax cross entropy, Adam, batch 100: one '
                 'training step (forward, backward, update)',
    'mlp-small': '784-100-100-10 MLP, the same otherwise, batch 32',
    'cnn': 'LeNet-style: conv 5x5 (20), max pool 2, conv 5x5 (50), max pool 2, linear 500, '
           'linear 10, ReLU; batch 64, MomentumSGD',
    'floor': "mlp-large's eight matrix products alone, in NumPy into preallocated arrays",
    'dp-2: 1 rank': 'mlp-large, 100 samples per rank, Adam, multi-node optimizer on a '
                    'one-rank communicator; the other rank idle',
    'dp-2: 2 ranks': 'the same on 2 ranks (mpirun -n 2): gradient averaging included',
    'dp-2: 1 rank, both ranks': 'the one-rank step on both ranks at once (the same '
                                'contention for cores and memory as 2 ranks, no exchange)',
    'dp-2: Allreduce': 'one in-place Allreduce of 1.8 M float32 (mpi4py in the dchain and '
                       'Chainer jobs, gloo in the PyTorch job)',
    'overhead': 'forward + backward of 784-100-10, batch 32, per op call (8: linear, relu, '
                'linear, softmax cross entropy, and their backward)',
    'overhead-tiny': 'the same for 16-16-10, batch 1: framework cost alone',
    'memory': 'peak RSS of examples/mnist.py --epoch 1 (bundled 5,000-digit subset) and '
              "Chainer's equivalent bench/peers/chainer_mnist.py on the same .npz",
}


def summarize(values, scale=1.0, block_medians=()):
    """The median of pooled samples (scaled), their count, and the lowest and highest median
    of one block (how much the machine's noise moved it)."""
    if not values:
        return None
    blocks = [value * scale for value in block_medians] or [statistics.median(values) * scale]
    return {'median': statistics.median(values) * scale, 'n': len(values),
            'low': min(blocks), 'high': max(blocks)}


def ratio_value(table, numerator, denominator):
    def value(cell):
        entry = table.get(cell[0], {}).get(cell[1])
        return None if entry is None else entry['median']
    top = value(numerator)
    if isinstance(denominator[0], tuple):
        base, unit = value(denominator[0]), value(denominator[1])
        if top is None or base is None or not unit:
            return None
        return (top - base) / unit
    bottom = value(denominator)
    if top is None or not bottom:
        return None
    return top / bottom


def ratios(table):
    """Every ratio whose cells were measured: dicts of row, name, value, value with the
    dchain's malloc tuning off, target and whether it is met."""
    result = []
    for row, name, numerator, denominator, target in RATIOS:
        value = ratio_value(table, numerator, denominator)
        if value is None:
            continue
        untuned = None
        if numerator[1] == 'dchain':
            untuned_numerator = (numerator[0], 'dchain-untuned')
            untuned_denominator = denominator
            if isinstance(denominator[0], tuple) and denominator[0][1] == 'dchain':
                untuned_denominator = ((denominator[0][0], 'dchain-untuned'), denominator[1])
            elif denominator[1] == 'dchain':
                untuned_denominator = (denominator[0], 'dchain-untuned')
            untuned = ratio_value(table, untuned_numerator, untuned_denominator)
        result.append({'row': row, 'name': name, 'value': value, 'malloc_untuned': untuned,
                       'target': target,
                       'met': None if target is None else value <= target})
    return result


def _cell(entry, unit):
    if entry is None:
        return '-'
    digits = 1 if unit == 'MiB' or entry['median'] >= 100 else 2
    return '{:.{}f}'.format(entry['median'], digits)


def _cell_range(entry, unit):
    """The median with the range of the block medians, for the documentation."""
    if entry is None:
        return '-'
    if entry.get('high', entry['median']) - entry.get('low', entry['median']) < 1e-9:
        return _cell(entry, unit)
    digits = 1 if unit == 'MiB' or entry['median'] >= 100 else 2
    return '{} <sub>{:.{d}f}-{:.{d}f}</sub>'.format(
        _cell(entry, unit), entry['low'], entry['high'], d=digits)


def _columns(table):
    return [c for c in COLUMNS if any(c in cells for cells in table.values())]


def text_tables(table, units, ratio_rows):
    """The two tables as plain text: medians per row and framework, then the ratios."""
    columns = _columns(table)
    lines = ['{:<26} {:<8}'.format('row', 'unit') + ''.join(
        '{:>15}'.format(c) for c in columns)]
    for row, cells in table.items():
        lines.append('{:<26} {:<8}'.format(row, units[row]) + ''.join(
            '{:>15}'.format(_cell(cells.get(c), units[row])) for c in columns))
    lines.append('')
    lines.append('{:<14} {:<48} {:>7} {:>8} {:>9}  {}'.format(
        'row', 'ratio of medians', 'value', 'target', 'met', 'malloc off'))
    for item in ratio_rows:
        lines.append('{:<14} {:<48} {:>7.3f} {:>8} {:>9}  {}'.format(
            item['row'], item['name'], item['value'],
            '-' if item['target'] is None else '<= {:.2f}'.format(item['target']),
            '-' if item['met'] is None else ('yes' if item['met'] else 'NO'),
            '-' if item['malloc_untuned'] is None else '{:.3f}'.format(item['malloc_untuned'])))
    return '\n'.join(lines)


def markdown_tables(table, units, ratio_rows, infos):
    columns = _columns(table)
    titles = []
    for column in columns:
        version = infos.get(column, {}).get('version')
        title = COLUMN_TITLES[column]
        if column in ('chainer', 'pytorch') and version:
            title = '{} {}'.format(title.split()[0], version)
        titles.append(title)
    lines = ['| row | unit | ' + ' | '.join(titles) + ' |',
             '| --- | --- | ' + ' | '.join('---:' for _ in columns) + ' |']
    for row, cells in table.items():
        lines.append('| {} | {} | '.format(row, UNITS.get(units[row], units[row])) + ' | '.join(
            _cell_range(cells.get(c), units[row]) for c in columns) + ' |')
    lines += ['', '| row | ratio of medians | value | target | met | malloc tuning off |',
              '| --- | --- | ---: | ---: | :---: | ---: |']
    for item in ratio_rows:
        lines.append('| {} | {} | {:.3f} | {} | {} | {} |'.format(
            item['row'], item['name'], item['value'],
            '-' if item['target'] is None else '<= {:.2f}'.format(item['target']),
            '-' if item['met'] is None else ('yes' if item['met'] else '**no**'),
            '-' if item['malloc_untuned'] is None else '{:.3f}'.format(item['malloc_untuned'])))
    return '\n'.join(lines)


COLORS = {'dchain': '#1f77b4', 'dchain-untuned': '#6baed6', 'chainer': '#d62728',
          'pytorch': '#ff7f0e', 'floor': '#7f7f7f'}
# Bar labels where a column means something more specific than the framework.
BAR_LABELS = {
    'dp-2: 2 ranks': {'chainer': 'ChainerMN', 'pytorch': 'PyTorch\nDDP (gloo)'},
    'dp-2: Allreduce': {'floor': 'mpi4py', 'chainer': 'mpi4py\n(Chainer job)',
                        'pytorch': 'gloo'},
}


def _reference_line(table, row):
    """(value, label) of a dashed line for the row's target reference, or None."""
    if row == 'mlp-large' and 'floor' in table.get('floor', {}):
        return table['floor']['floor']['median'], 'floor (NumPy matmuls)'
    if row == 'dp-2: 2 ranks':
        one = table.get('dp-2: 1 rank', {}).get('dchain')
        allreduce = table.get('dp-2: Allreduce', {}).get('floor')
        if one and allreduce:
            return one['median'] + allreduce['median'], 'dchain 1 rank + Allreduce'
    return None


def chart(table, units, path, title):
    """A bar chart per row (one bar per framework) written to ``path`` (PNG). The floor is
    drawn as a line over mlp-large, and 1 rank + Allreduce over dp-2's 2-rank step."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    rows = [row for row, cells in table.items() if cells and not (
        row == 'floor' and 'mlp-large' in table)]
    per_line = 4
    lines = (len(rows) + per_line - 1) // per_line
    figure, axes = pyplot.subplots(lines, per_line, figsize=(4 * per_line, 3.2 * lines),
                                   squeeze=False)
    for index, row in enumerate(rows):
        axis = axes[index // per_line][index % per_line]
        cells = table[row]
        columns = [c for c in COLUMNS if c in cells]
        values = [cells[c]['median'] for c in columns]
        bars = axis.bar(range(len(columns)), values, color=[COLORS[c] for c in columns])
        for bar, value in zip(bars, values):
            axis.annotate('{:.3g}'.format(value), (bar.get_x() + bar.get_width() / 2, value),
                          ha='center', va='bottom', fontsize=8)
        names = BAR_LABELS.get(row, {})
        axis.set_xticks(range(len(columns)))
        axis.set_xticklabels([names.get(c, c.replace('+', '+\n')) for c in columns],
                             fontsize=8)
        axis.set_title('{} ({})'.format(row, UNITS.get(units[row], units[row])), fontsize=9)
        top = max(values)
        reference = _reference_line(table, row)
        headroom = 1.18
        if reference:
            axis.axhline(reference[0], color='black', linestyle='--', linewidth=1,
                         label=reference[1])
            axis.legend(loc='upper left', fontsize=7, frameon=False)
            top, headroom = max(top, reference[0]), 1.4
        axis.set_ylim(0, top * headroom)
        axis.tick_params(axis='y', labelsize=8)
    for index in range(len(rows), lines * per_line):
        axes[index // per_line][index % per_line].axis('off')
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


START, END = '<!-- bench/run.py results: start -->', '<!-- bench/run.py results: end -->'


def machine_lines(machine, settings):
    revision = machine.get('dchain_revision') or '?'
    lines = ['- Date: {}; dchain revision {}.'.format(machine['date'], revision),
             '- CPU: {}, {} cores ({} usable by this run), {:.0f} GiB memory; Linux {}, {}.'
             .format(machine['cpu'], machine['cores'], machine['usable_cores'],
                     machine['memory_gib'] or 0, machine['kernel'], machine['libc']),
             '- Load average before the run: {:.2f} (the machine is shared: the runs alternate '
             'and medians are reported).'.format(machine['load_average'][0])]
    for label, info in machine['interpreters'].items():
        if not info:
            continue
        extras = ', '.join('{} {}'.format(name, info[name])
                           for name in ('dchain', 'chainer', 'torch', 'mpi4py') if name in info)
        lines.append('- {}: Python {}, NumPy {} with {} (kernel {}){}{}.'.format(
            label, info['python'], info['numpy'], info.get('blas', '?'),
            info.get('blas_core', '?'), ', ' + extras if extras else '',
            ', ' + ' '.join(info['mpi'].split()) if 'mpi' in info else ''))
    lines.append('- Settings: {}.'.format(settings))
    if machine.get('command'):
        lines.append('- Command: `OMP_NUM_THREADS=1 {}`.'.format(machine['command']))
    return lines


def write_docs(path, chart_name, table, units, ratio_rows, infos, machine, settings,
               notes=()):
    """Write the results into ``path`` between the markers, keeping the rest of the file
    (or create it with a how-to-run section)."""
    body = [START, '', '## Results', ''] + machine_lines(machine, settings) + [''] + [
        '**{}**: {}.'.format(row, ROW_NOTES[row]) for row in table if row in ROW_NOTES]
    body += ['', markdown_tables(table, units, ratio_rows, infos), '']
    body += list(notes) + ['', '![time per row and framework]({})'.format(chart_name), '', END]
    text = '\n'.join(body)
    if os.path.exists(path):
        with open(path) as handle:
            old = handle.read()
        if START in old and END in old:
            head, rest = old.split(START, 1)
            text = head + text + rest.split(END, 1)[1]
        else:
            text = old.rstrip('\n') + '\n\n' + text + '\n'
    else:
        text = DEFAULT_HEAD + text + '\n'
    temporary = path + '.tmp'
    with open(temporary, 'w') as handle:
        handle.write(text)
    os.replace(temporary, path)


DEFAULT_HEAD = '''# Performance

How fast dchain trains, measured side by side with Chainer 7.8.1 and PyTorch eager on the CPU.

## How to run

    OMP_NUM_THREADS=1 python bench/run.py              # every row, about 4 minutes
    python bench/run.py --quick                        # fewer repeats, about 1 minute
    python bench/run.py --rows mlp-small,cnn --repeats 9
    python bench/run.py --write-docs                   # also rewrite this file and its chart

'''
