"""A local HTTP server for the download tests, and small IDX datasets to serve."""
import gzip
import hashlib
import http.server
import socket
import threading
import time

import numpy
import pytest

from dchain.dataset import download
from dchain.datasets import idx, mnist

FILE_NAMES = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
              't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')


def idx_bytes(array):
    """``array`` (uint8) in the IDX format."""
    header = bytes([0, 0, 0x08, array.ndim]) + numpy.asarray(array.shape, '>u4').tobytes()
    return header + numpy.ascontiguousarray(array, numpy.uint8).tobytes()


def make_idx_set(seed, train=12, test=5):
    """A small MNIST-like set: the arrays, and the four gzipped IDX files by name."""
    rng = numpy.random.default_rng(seed)
    arrays = {'x_train': rng.integers(0, 256, (train, 28, 28), dtype=numpy.uint8),
              'y_train': rng.integers(0, 10, train, dtype=numpy.uint8),
              'x_test': rng.integers(0, 256, (test, 28, 28), dtype=numpy.uint8),
              'y_test': rng.integers(0, 10, test, dtype=numpy.uint8)}
    files = {name: gzip.compress(idx_bytes(arrays[key]), mtime=0)
             for name, key in zip(FILE_NAMES, idx.KEYS)}
    return arrays, files


def md5_table(files):
    """The MD5s of each gzipped file and of its contents, as IdxSource takes them."""
    return {name: (hashlib.md5(data).hexdigest(), hashlib.md5(gzip.decompress(data)).hexdigest())
            for name, data in files.items()}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        with server.lock:
            server.requests.append(self.path)
        time.sleep(server.delay)
        if self.path in server.endless:  # no length, and data without end
            self.send_response(200)
            self.end_headers()
            chunk, pause = server.endless[self.path]
            try:
                while not server.stopping:
                    self.wfile.write(chunk)
                    time.sleep(pause)
            except OSError:  # the client hung up
                pass
            self.close_connection = True
            return
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.path in server.cut_short:
            self.wfile.write(body[:len(body) // 2])  # then the connection closes
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


class LocalServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1; records the paths requested."""

    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.httpd.files = {}
        self.httpd.requests = []
        self.httpd.cut_short = set()
        self.httpd.endless = {}
        self.httpd.stopping = False
        self.httpd.delay = 0.0
        self.httpd.lock = threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def files(self):
        return self.httpd.files

    @property
    def requests(self):
        return self.httpd.requests

    def url(self, prefix):
        return 'http://127.0.0.1:{}/{}/'.format(self.httpd.server_port, prefix)

    def serve(self, prefix, files):
        """Serve ``files`` (name -> bytes) under ``/prefix/``; return that mirror's URL."""
        for name, data in files.items():
            self.httpd.files['/{}/{}'.format(prefix, name)] = data
        return self.url(prefix)

    def cut_short(self, prefix, name):
        """Announce the full length of ``/prefix/name`` but send half of it."""
        self.httpd.cut_short.add('/{}/{}'.format(prefix, name))

    def endless(self, prefix, name, chunk=b'\0' * 65536, pause=0.0):
        """Answer ``/prefix/name`` with ``chunk`` after ``chunk`` (``pause`` s apart) and no
        Content-Length, until the client hangs up; return the mirror's URL."""
        self.httpd.endless['/{}/{}'.format(prefix, name)] = (chunk, pause)
        return self.url(prefix)

    def set_delay(self, seconds):
        self.httpd.delay = seconds

    def close(self):
        self.httpd.stopping = True
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    """A running LocalServer."""
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def closed_url():
    """A mirror URL on a port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return 'http://127.0.0.1:{}/mnist/'.format(port)


@pytest.fixture
def dataset_root(tmp_path, monkeypatch):
    """A fresh, empty dataset root; network allowed; nothing remembered from other tests."""
    root = tmp_path / 'root'
    monkeypatch.setenv('DCHAIN_DATASET_ROOT', str(root))
    monkeypatch.delenv('DCHAIN_OFFLINE', raising=False)
    monkeypatch.setenv('DCHAIN_DOWNLOAD_TIMEOUT', '5')
    monkeypatch.setattr(download, '_dataset_root', None)
    monkeypatch.setattr(download, '_unreachable', set())
    monkeypatch.setattr(mnist, '_fallback_warned', False)
    return root


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and an empty dataset root: get_mnist must fall back."""
    monkeypatch.setenv('DCHAIN_DATASET_ROOT', str(tmp_path / 'empty-root'))
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    monkeypatch.setattr(download, '_dataset_root', None)
    monkeypatch.setattr(mnist, '_fallback_warned', False)
    monkeypatch.setattr(mnist.FASHION_MNIST, 'system_directories', [])


@pytest.fixture
def idx_set():
    """``idx_set(seed, train=12, test=5)`` -> (arrays, gzipped files by name)."""
    return make_idx_set


@pytest.fixture
def source_for():
    """``source_for(files, mirrors, system_directories=())`` -> an IdxSource named 'mnist'
    whose MD5 table is that of ``files``."""
    def make(files, mirrors, system_directories=()):
        return idx.IdxSource('mnist', md5_table(files), mirrors, system_directories)
    return make
