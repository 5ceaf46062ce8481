"""Where datasets are cached, and how files get there safely.

Datasets live under ``get_dataset_root()``: ``$DCHAIN_DATASET_ROOT``, or ``~/.dchain/dataset``.
``fetch_file`` keeps a cached file only when it passes its check (a corrupt or truncated file
is deleted and fetched again, never loaded), downloads into a temporary file beside the target
and moves it into place with ``os.replace`` only once it passes, so no reader ever sees half a
file. ``file_lock`` (``fcntl.flock`` on a lock file beside the data) lets processes on one host
take turns, so they never download the same file twice.

Network attempts time out after ``$DCHAIN_DOWNLOAD_TIMEOUT`` seconds (3 by default), a host
that could not be reached is not tried again by the same process, and ``DCHAIN_OFFLINE=1``
skips the network altogether, so an offline machine gives up at once. A download also stops
at a size cap (each file's own, else ``$DCHAIN_DOWNLOAD_MAX_BYTES``, 2 GiB by default) and at a
total deadline (``$DCHAIN_DOWNLOAD_DEADLINE`` seconds, 3600 by default), so a server that
sends without end, or a byte at a time, cannot fill the disk or stall a job forever.
"""
import contextlib
import hashlib
import os
import secrets
import time
import urllib.error
import urllib.parse

try:
    import fcntl
except ImportError:  # not on Windows: processes there are not kept from racing
    fcntl = None

_dataset_root = None     # set by set_dataset_root; otherwise read from the environment
_unreachable = set()     # (scheme, host, port) that failed to connect in this process


class DownloadError(OSError):
    """A dataset file could be neither found in the cache nor fetched intact."""


def get_dataset_root():
    """The folder holding every cached dataset: the one ``set_dataset_root`` gave, else
    ``$DCHAIN_DATASET_ROOT``, else ``~/.dchain/dataset``."""
    if _dataset_root is not None:
        return _dataset_root
    root = os.environ.get('DCHAIN_DATASET_ROOT')
    return root if root else os.path.join(os.path.expanduser('~'), '.dchain', 'dataset')


def set_dataset_root(path):
    """Cache datasets under ``path`` from now on (None goes back to the default)."""
    global _dataset_root
    _dataset_root = None if path is None else os.fspath(path)


def get_dataset_directory(dataset_name, create_directory=True):
    """The folder of one dataset under the root (created unless ``create_directory`` is
    False).

    ``dataset_name`` may name a subfolder (``'pfnet/chainer/cifar'``) but never a folder
    outside the root: an absolute name, or one that climbs out with ``..``, is a ValueError.
    """
    if not isinstance(dataset_name, str) or not dataset_name:
        raise ValueError('get_dataset_directory: dataset_name must be a non-empty str, got {!r}'
                         .format(dataset_name))
    root = os.path.abspath(get_dataset_root())
    path = os.path.normpath(os.path.join(root, dataset_name))
    if os.path.isabs(dataset_name) or os.path.commonpath([root, path]) != root or path == root:
        raise ValueError('get_dataset_directory: dataset_name must name a folder inside the '
                         'dataset root {}, got {!r}'.format(root, dataset_name))
    if create_directory:
        os.makedirs(path, exist_ok=True)
    return path


def is_offline():
    """True when ``$DCHAIN_OFFLINE`` asks to skip every network attempt."""
    return os.environ.get('DCHAIN_OFFLINE', '').strip().lower() in ('1', 'true', 'yes', 'on')


def _env_number(name, default):
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        raise ValueError('${} must be a number, got {!r}'.format(
            name, os.environ.get(name))) from None
    if not value > 0:
        raise ValueError('${} must be positive, got {!r}'.format(name, os.environ.get(name)))
    return value


def max_download_bytes():
    """The size cap of a download whose own size is not known: ``$DCHAIN_DOWNLOAD_MAX_BYTES``
    (2 GiB by default)."""
    return int(_env_number('DCHAIN_DOWNLOAD_MAX_BYTES', 2 << 30))


def download_deadline():
    """Seconds one download may take in all: ``$DCHAIN_DOWNLOAD_DEADLINE`` (3600 by
    default)."""
    return _env_number('DCHAIN_DOWNLOAD_DEADLINE', 3600)


def md5_of_file(path):
    """The hex MD5 of the file ``path``, read in chunks."""
    digest = hashlib.md5()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def download_timeout():
    """Seconds a network attempt may wait for a connection or for data."""
    try:
        return float(os.environ.get('DCHAIN_DOWNLOAD_TIMEOUT', 3))
    except ValueError:
        return 3.0


@contextlib.contextmanager
def file_lock(path):
    """Hold an exclusive lock on the file ``path`` (created if missing) inside the block.

    The lock file is never deleted: removing it would let two processes lock two different
    files of the same name.
    """
    if fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _temporary_beside(path):
    """Create an empty temporary file beside ``path``; return its name."""
    directory, name = os.path.split(os.path.abspath(path))
    while True:
        temporary = os.path.join(directory, '.{}.{}.tmp'.format(name, secrets.token_hex(4)))
        try:
            # 0o666 so the umask sets the final mode, not mkstemp's 0o600
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temporary
        except FileExistsError:
            continue


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then move it onto ``path``;
    on failure the temporary file is removed and ``path`` is left as it was."""
    temporary = _temporary_beside(path)
    try:
        with open(temporary, 'wb') as file:
            write(file)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _host(url):
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _copy_capped(response, file, max_bytes, deadline):
    started = time.monotonic()
    written = 0
    while True:
        chunk = response.read1(1 << 16)
        if not chunk:
            return
        written += len(chunk)
        if written > max_bytes:
            raise DownloadError('the server sent more than the {} bytes this file may have; '
                                'stopped'.format(max_bytes))
        file.write(chunk)
        if time.monotonic() - started > deadline:
            raise DownloadError('the download took more than {:g} s in all (DCHAIN_DOWNLOAD_'
                                'DEADLINE); stopped after {} bytes'.format(deadline, written))


def _download(url, file, max_bytes):
    # imported here: they pull in ssl and email (~25 ms), which only a download needs
    import http.client
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=download_timeout()) as response:
            expected = response.headers.get('Content-Length')
            if expected is not None and expected.isdigit() and int(expected) > max_bytes:
                raise DownloadError('the server announces {} bytes, more than the {} this file '
                                    'may have'.format(expected, max_bytes))
            _copy_capped(response, file, max_bytes, download_deadline())
    except http.client.HTTPException as error:  # a broken response, not an OSError
        raise DownloadError('{}: {}'.format(type(error).__name__, error)) from error
    # http.client does not raise when a server closes early, so a short body is caught here
    if expected is not None and expected.isdigit() and file.tell() != int(expected):
        raise DownloadError('the server sent {} of {} bytes'.format(file.tell(), expected))


def _download_verified(url, path, verify, max_bytes):
    # verified before it is moved into place, so not even a complete but corrupt file is
    # ever seen at ``path``
    temporary = _temporary_beside(path)
    try:
        with open(temporary, 'wb') as file:
            _download(url, file, max_bytes)
        result = verify(temporary)
        os.replace(temporary, path)
        return result
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


def fetch_file(path, urls, verify, max_bytes=None):
    """Make ``path`` an intact file and return ``verify(path)``.

    Args:
        path: where the file is cached.
        urls: where to download it from, tried in order.
        verify: ``verify(path)`` returns the checked contents, or raises ValueError saying
            why the file is not intact (bad checksum, truncated).
        max_bytes: the most bytes a download may bring (None: ``max_download_bytes()``).
    Raises:
        DownloadError: naming the file and why each source failed.
    """
    name = os.path.basename(path)
    max_bytes = max_download_bytes() if max_bytes is None else int(max_bytes)
    reasons = []
    if os.path.exists(path):
        try:
            return verify(path)
        except ValueError as error:
            os.remove(path)
            reasons.append('the cached {} was corrupt ({}) and was deleted'.format(path, error))
    if is_offline():
        reasons.append('DCHAIN_OFFLINE is set')
        urls = ()
    for url in urls:
        host = _host(url)
        if host in _unreachable:
            reasons.append('{}: unreachable earlier in this process'.format(url))
            continue
        try:
            return _download_verified(url, path, verify, max_bytes)
        except ValueError as error:
            reasons.append('{}: the download was corrupt ({}) and was deleted'.format(url, error))
        except OSError as error:  # URLError, HTTPError, timeouts, short reads
            if (isinstance(error, urllib.error.URLError)
                    and not isinstance(error, urllib.error.HTTPError)) \
                    or isinstance(error, (TimeoutError, ConnectionError)):
                _unreachable.add(host)
            reasons.append('{}: {}'.format(url, error))
    if not reasons:
        reasons.append('no source to download it from')
    raise DownloadError('could not get an intact {} into {}: {}'.format(
        name, os.path.dirname(os.path.abspath(path)), '; '.join(reasons)))


def cached_download(url):
    """The path of a cached copy of ``url``, downloaded once per machine (Chainer's).

    The file goes to ``<dataset root>/_dl_cache/<MD5 of the URL>``; later calls, from any
    process, return it without downloading. The download stops at the size cap and the
    deadline, and is moved into place only once complete.

    Raises:
        DownloadError: the file is not cached and cannot be downloaded.
    """
    import sys
    directory = get_dataset_directory('_dl_cache')
    path = os.path.join(directory, hashlib.md5(url.encode('utf-8')).hexdigest())
    if os.path.exists(path):
        return path
    with file_lock(path + '.lock'):
        if not os.path.exists(path):  # another process may have fetched it meanwhile
            sys.stderr.write('Downloading from {}...\n'.format(url))
            sys.stderr.flush()
            fetch_file(path, [url], lambda _: None)
    return path


def cache_or_load_file(path, creator, loader):
    """``loader(path)`` when ``path`` exists; otherwise ``creator(temporary_path)``, whose
    file is then moved to ``path`` (Chainer's). Processes take turns (a lock beside
    ``path``), so the file is created once per machine and never seen half written.

    Returns:
        What ``loader`` or ``creator`` returns.
    """
    if os.path.exists(path):
        return loader(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with file_lock(path + '.lock'):
        if os.path.exists(path):
            return loader(path)
        temporary = _temporary_beside(path)
        os.remove(temporary)  # the creator finds no file there, as Chainer promises
        try:
            content = creator(temporary)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
    return content
