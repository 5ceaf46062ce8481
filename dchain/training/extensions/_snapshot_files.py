"""Which files in an output folder are snapshots of one ``snapshot`` extension, in order, and
whether one is whole.

A name belongs to the extension only when all of it matches the filename pattern with each
field taking the form its value has (an integer field such as ``{.updater.iteration}`` only
digits), so ``snapshot_iter_best`` or ``snapshot_model_5`` never count as
``snapshot_{.updater.iteration}``.
"""
import numbers
import os
import re
import string
import zipfile

from numpy.lib import format as npy_format

_INTEGER = r'(-?\d+)'
_REAL = r'([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|inf|nan))'
_ANY = r'(.+?)'
_DECIMAL_SPEC = re.compile(r'(.?[<>=^])?[-+ ]?0?\d*d?')


def filename_pattern(filename, trainer=None):
    """A regex matching what ``filename.format(trainer)`` can produce, one group per field.
    A field whose value (read from ``trainer``) is an integer matches digits only, a float a
    number; any other field, or any field without a trainer, matches any text."""
    formatter = string.Formatter()
    parts = []
    automatic = 0
    for literal, field, spec, conversion in formatter.parse(filename):
        parts.append(re.escape(literal))
        if field is None:
            continue
        value = None
        if not field or field[0] in '.[':  # '{.updater.iteration}' is '{0.updater.iteration}'
            field = str(automatic) + field
            automatic += 1
        if trainer is not None and not conversion:
            try:
                value, _ = formatter.get_field(field, (trainer,), {})
            except Exception:  # a field this trainer cannot answer yet
                value = None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            parts.append(_ANY)
        elif isinstance(value, numbers.Integral) and _DECIMAL_SPEC.fullmatch(spec):
            parts.append(_INTEGER)
        elif not spec:
            parts.append(_REAL)
        else:
            parts.append(_ANY)
    return re.compile(''.join(parts))


def natural_key(fields):
    """Sort key of a name's fields: numbers compare as numbers (iteration 10 after 9)."""
    key = []
    for field in fields:
        for piece in re.split(r'(\d+)', field):
            key.append((0, int(piece), '') if piece.isdigit() else (1, 0, piece))
    return key


def existing(folder, pattern):
    """Names of the files in ``folder`` that ``pattern`` matches whole, oldest first: by the
    fields in the name (the iteration), then by modification time."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        match = pattern.fullmatch(name)
        path = os.path.join(folder, name)
        if match is not None and os.path.isfile(path):
            try:
                mtime = os.stat(path).st_mtime_ns
            except OSError:  # removed meanwhile
                continue
            found.append((natural_key(match.groups()), mtime, name))
    found.sort()
    return [name for _, _, name in found]


class CorruptSnapshot(Exception):
    """A snapshot file that is incomplete or damaged (not one that merely does not fit)."""


def check_npz(path):
    """Raise CorruptSnapshot unless ``path`` is a whole npz file: a zip archive whose every
    member passes its CRC check and starts with a readable .npy header."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise CorruptSnapshot('member {} fails its CRC check'.format(bad))
            for info in archive.infolist():
                with archive.open(info) as member:
                    version = npy_format.read_magic(member)
                    if version == (1, 0):
                        npy_format.read_array_header_1_0(member)
                    elif version == (2, 0):
                        npy_format.read_array_header_2_0(member)
    except CorruptSnapshot:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise CorruptSnapshot('{}: {}'.format(type(error).__name__, error)) from error
