"""Downloads for real from a local HTTP server: checksums, retries, caches, locks, fallback."""
import gzip
import hashlib
import multiprocessing
import os

import numpy
import pytest

from dchain.dataset import download
from dchain.datasets import DatasetFallbackWarning, get_fashion_mnist, get_mnist, idx, mnist


def _corrupt(files):
    """The same files with one byte changed in the middle of each."""
    bad = {}
    for name, data in files.items():
        middle = len(data) // 2
        bad[name] = data[:middle] + bytes([data[middle] ^ 0xff]) + data[middle + 1:]
    return bad


def _expected(arrays, part):
    x = arrays['x_' + part].reshape(-1, 784).astype(numpy.float32) / numpy.float32(255)
    return x, arrays['y_' + part].astype(numpy.int32)


def _check_loaded(train_test, arrays):
    for dataset, part in zip(train_test, ('train', 'test')):
        x, y = _expected(arrays, part)
        images, labels = dataset._datasets
        assert images.dtype == numpy.float32 and labels.dtype == numpy.int32
        numpy.testing.assert_allclose(images, x, rtol=1e-6)
        numpy.testing.assert_array_equal(labels, y)


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith('.tmp'))


def test_good_download_then_cache(dataset_root, server, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(0)
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [server.serve('a', files)]))
    _check_loaded(get_mnist(subset='full'), arrays)
    folder = dataset_root / 'mnist'
    for name, data in files.items():
        assert (folder / name).read_bytes() == data
    assert (folder / 'mnist.npz').is_file()
    assert sorted(server.requests) == sorted('/a/' + name for name in files)
    assert _leftovers(folder) == []

    _check_loaded(get_mnist(subset='full'), arrays)  # from the .npz cache
    os.remove(folder / 'mnist.npz')
    _check_loaded(get_mnist(subset='full'), arrays)  # from the cached .gz files
    assert len(server.requests) == len(files)


def test_wrong_checksum_is_deleted_and_next_mirror_used(dataset_root, server, idx_set,
                                                        source_for, monkeypatch):
    arrays, files = idx_set(1)
    bad_mirror = server.serve('bad', _corrupt(files))
    good_mirror = server.serve('good', files)
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [bad_mirror, good_mirror]))
    _check_loaded(get_mnist(subset='full'), arrays)
    for name, data in files.items():
        assert server.requests.count('/bad/' + name) == 1
        assert server.requests.count('/good/' + name) == 1
        assert (dataset_root / 'mnist' / name).read_bytes() == data
    assert _leftovers(dataset_root / 'mnist') == []


def test_wrong_checksum_everywhere_names_the_file(dataset_root, server, idx_set, source_for,
                                                  monkeypatch):
    arrays, files = idx_set(2)
    corrupt = _corrupt(files)
    mirrors = [server.serve('one', corrupt), server.serve('two', corrupt)]
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, mirrors))
    with pytest.raises(download.DownloadError,
                       match=r'train-images-idx3-ubyte\.gz.*MD5.*deleted.*MD5.*deleted'):
        get_mnist(subset='full')
    assert sorted(os.listdir(dataset_root / 'mnist')) == ['mnist.lock']

    with pytest.warns(DatasetFallbackWarning, match='train-images-idx3-ubyte.gz'):
        train, test = get_mnist()
    assert (len(train), len(test)) == (4000, 1000)


def test_download_cut_short_is_retried(dataset_root, server, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(3)
    first = server.serve('first', files)
    server.cut_short('first', 'train-images-idx3-ubyte.gz')
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [first, server.serve('second', files)]))
    _check_loaded(get_mnist(subset='full'), arrays)
    assert server.requests.count('/second/train-images-idx3-ubyte.gz') == 1
    assert server.requests.count('/second/train-labels-idx1-ubyte.gz') == 0
    assert _leftovers(dataset_root / 'mnist') == []


def test_download_cut_short_everywhere(dataset_root, server, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(4)
    mirror = server.serve('only', files)
    server.cut_short('only', 'train-images-idx3-ubyte.gz')
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [mirror]))
    with pytest.raises(download.DownloadError,
                       match=r'train-images-idx3-ubyte\.gz.*sent \d+ of \d+ bytes'):
        get_mnist(subset='full')
    assert not (dataset_root / 'mnist' / 'train-images-idx3-ubyte.gz').exists()


def test_truncated_cached_file_is_deleted_and_fetched_again(dataset_root, server, idx_set,
                                                            source_for, monkeypatch):
    arrays, files = idx_set(5)
    folder = dataset_root / 'mnist'
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    name = 't10k-images-idx3-ubyte.gz'
    (folder / name).write_bytes(files[name][:len(files[name]) // 3])
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [server.serve('m', files)]))
    _check_loaded(get_mnist(subset='full'), arrays)
    assert server.requests == ['/m/' + name]
    assert (folder / name).read_bytes() == files[name]


def test_corrupt_cached_file_offline_is_deleted_with_a_clear_error(
        dataset_root, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(6)
    folder = dataset_root / 'mnist'
    folder.mkdir(parents=True)
    for name, data in _corrupt(files).items():
        (folder / name).write_bytes(data)
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, ['http://127.0.0.1:9/mnist/']))
    with pytest.raises(download.DownloadError,
                       match=r'train-images-idx3-ubyte\.gz.*was corrupt.*deleted.*DCHAIN_OFFLINE'):
        get_mnist(subset='full')
    assert not (folder / 'train-images-idx3-ubyte.gz').exists()


def test_corrupt_npz_cache_is_rebuilt(dataset_root, server, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(7)
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [server.serve('m', files)]))
    get_mnist(subset='full')
    cache = dataset_root / 'mnist' / 'mnist.npz'
    cache.write_bytes(cache.read_bytes()[:100])
    _check_loaded(get_mnist(subset='full'), arrays)
    with numpy.load(cache) as npz:
        numpy.testing.assert_array_equal(npz['y_test'], arrays['y_test'])
    assert len(server.requests) == len(files)  # rebuilt from the cached .gz files


def test_missing_file_on_one_mirror(dataset_root, server, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(8)
    partial = dict(files)
    del partial['train-labels-idx1-ubyte.gz']
    mirrors = [server.serve('partial', partial), server.serve('full', files)]
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, mirrors))
    _check_loaded(get_mnist(subset='full'), arrays)
    assert server.requests.count('/full/train-labels-idx1-ubyte.gz') == 1
    assert server.requests.count('/full/train-images-idx3-ubyte.gz') == 0


def test_server_down_falls_back_or_names_the_file(dataset_root, closed_url, idx_set, source_for,
                                                  monkeypatch):
    arrays, files = idx_set(9)
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [closed_url]))
    with pytest.raises(download.DownloadError, match=r'train-images-idx3-ubyte\.gz.*refused'):
        get_mnist(subset='full')
    # the host is not tried again by this process
    with pytest.raises(download.DownloadError, match='unreachable earlier in this process'):
        get_mnist(subset='full')
    with pytest.warns(DatasetFallbackWarning, match='bundled subset'):
        train, test = get_mnist()
    assert (len(train), len(test)) == (4000, 1000)


def test_offline_makes_no_request(dataset_root, server, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(10)
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [server.serve('m', files)]))
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    with pytest.warns(DatasetFallbackWarning, match='DCHAIN_OFFLINE is set'):
        get_mnist()
    assert server.requests == []


def _load_in_child(barrier, results, source):
    barrier.wait()
    arrays = idx.load(source)
    results.put({key: hashlib.md5(array.tobytes()).hexdigest() for key, array in arrays.items()})


def test_two_processes_download_once(dataset_root, server, idx_set, source_for):
    arrays, files = idx_set(11, train=200, test=50)
    server.set_delay(0.2)  # long enough that both processes are inside load() at once
    source = source_for(files, [server.serve('m', files)])
    context = multiprocessing.get_context('spawn')
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_load_in_child, args=(barrier, results, source))
                 for _ in range(2)]
    for process in processes:
        process.start()
    digests = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    expected = {key: hashlib.md5(array.tobytes()).hexdigest() for key, array in arrays.items()}
    assert digests == [expected, expected]
    assert sorted(server.requests) == sorted('/m/' + name for name in files)
    assert _leftovers(dataset_root / 'mnist') == []


def test_recompressed_copy_in_system_folder(dataset_root, tmp_path, idx_set, source_for,
                                            monkeypatch):
    arrays, files = idx_set(12)
    system = tmp_path / 'system'
    system.mkdir()
    for name, data in files.items():
        # what Debian ships: the same contents gzipped again, so the .gz MD5 differs
        recompressed = gzip.compress(gzip.decompress(data), compresslevel=1, mtime=12345)
        assert recompressed != data
        (system / name).write_bytes(recompressed)
    bad = 't10k-labels-idx1-ubyte.gz'
    (system / bad).write_bytes(_corrupt(files)[bad])
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [], [str(system)]))
    with pytest.raises(download.DownloadError, match=bad):
        get_mnist(subset='full')
    assert (system / bad).exists()  # a system file is skipped, never deleted
    (system / bad).write_bytes(files[bad])
    _check_loaded(get_mnist(subset='full'), arrays)
    assert sorted(os.listdir(dataset_root / 'mnist')) == ['mnist.lock', 'mnist.npz']


def test_fashion_mnist_from_system_folder(dataset_root, tmp_path, idx_set, source_for,
                                          monkeypatch):
    arrays, files = idx_set(13)
    system = tmp_path / 'fashion'
    system.mkdir()
    for name, data in files.items():
        (system / name).write_bytes(data)
    source = source_for(files, [], [str(system)])
    source.name = 'fashion-mnist'
    monkeypatch.setattr(mnist, 'FASHION_MNIST', source)
    train, test = get_fashion_mnist(ndim=3, scale=2., dtype=numpy.float64)
    images, labels = test._datasets
    assert images.shape == (5, 1, 28, 28) and images.dtype == numpy.float64
    numpy.testing.assert_allclose(images[:, 0], arrays['x_test'] * (2. / 255))
    numpy.testing.assert_array_equal(labels, arrays['y_test'])
    assert (dataset_root / 'fashion-mnist' / 'fashion-mnist.npz').is_file()


def test_fashion_mnist_unavailable_says_what_to_do(offline):
    with pytest.raises(download.DownloadError, match='dataset-fashion-mnist.*fashion-mnist'):
        get_fashion_mnist()


def test_fallback_warns_once(offline):
    with pytest.warns(DatasetFallbackWarning) as record:
        train, test = get_mnist()
        get_mnist(ndim=2)
    assert len(record) == 1
    message = str(record[0].message)
    for part in ('bundled subset', 'DCHAIN_DATASET_ROOT', 'train-images-idx3-ubyte.gz',
                 't10k-labels-idx1-ubyte.gz', "subset='bundled'"):
        assert part in message
    assert (len(train), len(test)) == (4000, 1000)


def test_bundled_on_request_does_not_warn(offline, recwarn):
    get_mnist(subset='bundled')
    assert not [w for w in recwarn if issubclass(w.category, DatasetFallbackWarning)]


def test_parse_idx_refuses_bad_headers():
    good = numpy.arange(6, dtype=numpy.uint8).reshape(2, 3)
    header = bytes([0, 0, 8, 2]) + numpy.array([2, 3], '>u4').tobytes()
    numpy.testing.assert_array_equal(idx.parse_idx(header + good.tobytes(), 'f'), good)
    with pytest.raises(ValueError, match='f: not an IDX file of unsigned bytes'):
        idx.parse_idx(b'\x00\x00\x0d\x01' + bytes(8), 'f')
    with pytest.raises(ValueError, match='f: the IDX header announces 6 values.*holds 5'):
        idx.parse_idx(header + good.tobytes()[:5], 'f')
    with pytest.raises(ValueError, match='header is cut short'):
        idx.parse_idx(header[:6], 'f')


def test_inconsistent_files_are_refused(dataset_root, server, idx_set, source_for, monkeypatch):
    arrays, files = idx_set(14)
    _, other = idx_set(15, train=7)
    files = dict(files, **{'train-labels-idx1-ubyte.gz': other['train-labels-idx1-ubyte.gz']})
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [server.serve('m', files)]))
    with pytest.raises(ValueError, match=r'mnist: the train set has images \(12, 28, 28\)'):
        get_mnist(subset='full')


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / 'file.bin'
    target.write_bytes(b'old')

    def fail(file):
        file.write(b'partial')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        download.atomic_write(str(target), fail)
    assert target.read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['file.bin']
    download.atomic_write(str(target), lambda file: file.write(b'new'))
    assert target.read_bytes() == b'new'


def test_dataset_root(monkeypatch, tmp_path):
    monkeypatch.setattr(download, '_dataset_root', None)
    monkeypatch.delenv('DCHAIN_DATASET_ROOT', raising=False)
    assert download.get_dataset_root() == os.path.join(os.path.expanduser('~'), '.dchain',
                                                       'dataset')
    monkeypatch.setenv('DCHAIN_DATASET_ROOT', str(tmp_path / 'env'))
    assert download.get_dataset_root() == str(tmp_path / 'env')
    download.set_dataset_root(tmp_path / 'set')
    assert download.get_dataset_directory('x') == str(tmp_path / 'set' / 'x')
    assert (tmp_path / 'set' / 'x').is_dir()
    download.set_dataset_root(None)
    assert download.get_dataset_directory('y', create_directory=False) == str(
        tmp_path / 'env' / 'y')
    assert not (tmp_path / 'env').exists()


def test_endless_download_stops_at_the_size_cap(dataset_root, server, idx_set, source_for,
                                                monkeypatch):
    arrays, files = idx_set(20)
    mirror = server.endless('endless', 'train-images-idx3-ubyte.gz')
    source = source_for(files, [mirror])
    source.max_bytes = 1 << 20
    monkeypatch.setattr(mnist, 'MNIST', source)
    with pytest.raises(download.DownloadError, match='more than the 1048576 bytes.*stopped'):
        get_mnist(subset='full')
    assert _leftovers(dataset_root / 'mnist') == []


def test_slow_download_stops_at_the_deadline(dataset_root, server, idx_set, source_for,
                                             monkeypatch):
    arrays, files = idx_set(21)
    mirror = server.endless('drip', 'train-images-idx3-ubyte.gz', chunk=b'x', pause=0.05)
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [mirror]))
    monkeypatch.setenv('DCHAIN_DOWNLOAD_DEADLINE', '0.5')
    with pytest.raises(download.DownloadError, match=r'more than 0\.5 s in all'):
        get_mnist(subset='full')
    assert _leftovers(dataset_root / 'mnist') == []


def test_announced_size_over_the_cap_is_refused(dataset_root, server, idx_set, source_for,
                                                monkeypatch):
    arrays, files = idx_set(22)
    monkeypatch.setenv('DCHAIN_DOWNLOAD_MAX_BYTES', '100')
    target = dataset_root / 'x.gz'
    dataset_root.mkdir()
    url = server.serve('big', files) + 'train-images-idx3-ubyte.gz'
    with pytest.raises(download.DownloadError, match='announces .* more than the 100'):
        download.fetch_file(str(target), [url], lambda path: None)
    assert not target.exists()


@pytest.mark.parametrize('name', ['../outside', '/etc', 'a/../../b', '.', ''])
def test_dataset_names_cannot_leave_the_root(dataset_root, name):
    with pytest.raises(ValueError, match='get_dataset_directory: dataset_name must'):
        download.get_dataset_directory(name)
    assert download.get_dataset_directory('pfnet/chainer/cifar').startswith(str(dataset_root))


def test_planted_npz_cache_is_not_trusted(dataset_root, server, idx_set, source_for,
                                          monkeypatch):
    arrays, files = idx_set(23)
    monkeypatch.setattr(mnist, 'MNIST', source_for(files, [server.serve('m', files)]))
    get_mnist(subset='full')
    cache = dataset_root / 'mnist' / 'mnist.npz'
    # well-formed arrays of the right shapes and dtypes, all zero, without the check
    numpy.savez(cache, **{key: numpy.zeros_like(array) for key, array in arrays.items()})
    train, test = get_mnist(subset='full')
    numpy.testing.assert_array_equal(test._datasets[1], arrays['y_test'])
    assert len(server.requests) == len(files)  # rebuilt from the checked .gz files
    with numpy.load(cache) as npz:
        numpy.testing.assert_array_equal(npz['x_train'], arrays['x_train'])


def test_cached_download_once(dataset_root, server):
    url = server.serve('files', {'data.txt': b'hello'}) + 'data.txt'
    path = download.cached_download(url)
    assert open(path, 'rb').read() == b'hello'
    assert os.path.dirname(path) == str(dataset_root / '_dl_cache')
    assert download.cached_download(url) == path
    assert server.requests == ['/files/data.txt']
    with pytest.raises(download.DownloadError, match='missing.txt.*404'):
        download.cached_download(server.url('files') + 'missing.txt')


def test_cache_or_load_file(tmp_path):
    created = []

    def creator(path):
        assert not os.path.exists(path)
        with open(path, 'w') as file:
            file.write('made')
        created.append(path)
        return 'created'

    def loader(path):
        with open(path) as file:
            return 'loaded ' + file.read()

    target = tmp_path / 'sub' / 'cache.txt'
    assert download.cache_or_load_file(str(target), creator, loader) == 'created'
    assert download.cache_or_load_file(str(target), creator, loader) == 'loaded made'
    assert len(created) == 1 and target.read_text() == 'made'

    def failing(path):
        open(path, 'w').close()
        raise RuntimeError('creator failed')
    other = tmp_path / 'other.txt'
    with pytest.raises(RuntimeError, match='creator failed'):
        download.cache_or_load_file(str(other), failing, loader)
    assert sorted(os.listdir(tmp_path)) == ['other.txt.lock', 'sub']
