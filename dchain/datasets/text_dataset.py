"""TextDataset: the lines of one or more text files, read on demand."""
import threading

from dchain.dataset.dataset_mixin import DatasetMixin


def _per_file(value, count, name):
    if value is None or isinstance(value, str):
        return [value] * count
    value = list(value)
    if len(value) != count:
        raise ValueError('TextDataset: {} must be one value or one per file ({}), got {}'.format(
            name, count, len(value)))
    return value


class TextDataset(DatasetMixin):
    """The lines of a text file (a ``str`` each, newline included), or of several files
    read side by side (a tuple of ``str``), as Chainer's ``TextDataset``.

    The start of every line is found once, when the dataset is made; a line is read from
    the file when it is asked for. Files open lazily in each process (and thread-safely), so
    the dataset pickles without its open files and works in worker processes; the files must
    not change afterwards.

    Args:
        paths (str or list of str): the text file, or several with the same number of lines.
        encoding, errors, newline (str or list of str): as ``open`` takes them, one value or
            one per file.
        filter_func (callable): ``filter_func(*lines)`` -> True to keep the line(s).
    """

    def __init__(self, paths, encoding=None, errors=None, newline=None, filter_func=None):
        if isinstance(paths, str):
            paths = [paths]
        paths = list(paths)
        if not paths:
            raise ValueError('TextDataset: paths must name at least one text file')
        self._paths = paths
        self._options = list(zip(_per_file(encoding, len(paths), 'encoding'),
                                 _per_file(errors, len(paths), 'errors'),
                                 _per_file(newline, len(paths), 'newline')))
        self._files = None
        self._lock = threading.Lock()
        files = self._open()
        try:
            self._starts, self._lines = self._index(files, filter_func)
        finally:
            self.close()

    def _open(self):
        self._files = [open(path, 'rt', encoding=encoding, errors=errors, newline=newline)
                       for path, (encoding, errors, newline) in zip(self._paths, self._options)]
        return self._files

    def _index(self, files, filter_func):
        starts = [[0] for _ in files]
        lines = []
        number = 0
        while True:
            texts = [file.readline() for file in files]
            if not all(texts):
                if any(texts):
                    raise ValueError('TextDataset: the files {} do not have the same number of '
                                     'lines'.format(self._paths))
                break
            for file_starts, file in zip(starts, files):
                file_starts.append(file.tell())
            if filter_func is None or filter_func(*texts):
                lines.append(number)
            number += 1
        return starts, lines

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_files'] = None
        del state['_lock']
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._lines)

    def close(self):
        """Close the files (they reopen when a line is read again)."""
        files, self._files = self._files, None
        for file in files or ():
            file.close()

    def get_example(self, i):
        """The ``i``-th line (a tuple of lines for several files)."""
        if not -len(self._lines) <= i < len(self._lines):
            raise IndexError('TextDataset: index {} out of range for {} lines'.format(
                i, len(self._lines)))
        number = self._lines[i]
        with self._lock:
            files = self._files if self._files is not None else self._open()
            texts = []
            for file, file_starts in zip(files, self._starts):
                file.seek(file_starts[number])
                texts.append(file.readline())
        return texts[0] if len(texts) == 1 else tuple(texts)
