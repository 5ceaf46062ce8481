"""get_cifar10, get_cifar100, get_ptb_words and get_ptb_words_vocabulary, downloading for real
from a local HTTP server small files in the published formats."""
import hashlib
import io
import os
import pickle
import tarfile

import numpy
import pytest

from dchain.dataset import download
from dchain.datasets import (TupleDataset, cifar, get_cifar10, get_cifar100, get_ptb_words,
                             get_ptb_words_vocabulary, ptb)


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w:gz') as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _batch(images, labels, label_key):
    # the published batches: pickled dicts with the images as one uint8 array
    return pickle.dumps({'batch_label': 'a batch', label_key: labels.tolist(),
                         'data': images, 'filenames': ['x.png'] * len(labels)}, protocol=2)


def make_cifar10(seed, per_batch=4, test=3):
    rng = numpy.random.default_rng(seed)
    x = rng.integers(0, 256, (5 * per_batch + test, 3072), dtype=numpy.uint8)
    y = rng.integers(0, 10, len(x), dtype=numpy.uint8)
    members = {'cifar-10-batches-py/data_batch_{}'.format(i + 1): _batch(
        x[i * per_batch:(i + 1) * per_batch], y[i * per_batch:(i + 1) * per_batch], 'labels')
        for i in range(5)}
    members['cifar-10-batches-py/test_batch'] = _batch(x[5 * per_batch:], y[5 * per_batch:],
                                                       'labels')
    members['cifar-10-batches-py/batches.meta'] = pickle.dumps({'label_names': ['a'] * 10})
    split = 5 * per_batch
    return (x[:split], y[:split], x[split:], y[split:]), _tar_gz(members)


def make_cifar100(seed, train=7, test=3):
    rng = numpy.random.default_rng(seed)
    x = rng.integers(0, 256, (train + test, 3072), dtype=numpy.uint8)
    y = rng.integers(0, 100, len(x), dtype=numpy.uint8)
    members = {}
    for name, part in (('train', slice(0, train)), ('test', slice(train, None))):
        members['cifar-100-python/' + name] = pickle.dumps(
            {'data': x[part], 'fine_labels': y[part].tolist(),
             'coarse_labels': (y[part] // 5).tolist()}, protocol=2)
    return (x[:train], y[:train], x[train:], y[train:]), _tar_gz(members)


@pytest.fixture
def serve_cifar(server, monkeypatch):
    """Serve ``archive`` as the CIFAR ``name`` ('cifar-10' or 'cifar-100') with its MD5."""
    def serve(name, archive):
        filename = name + '-python.tar.gz'
        monkeypatch.setattr(cifar, '_URL', server.serve('kriz', {filename: archive}))
        entry = list(cifar._SOURCES[name])
        entry[1] = hashlib.md5(archive).hexdigest()
        monkeypatch.setitem(cifar._SOURCES, name, tuple(entry))
        return filename
    return serve


@pytest.mark.parametrize('getter, name, make', [(get_cifar10, 'cifar-10', make_cifar10),
                                                (get_cifar100, 'cifar-100', make_cifar100)])
def test_cifar_download_convert_and_cache(dataset_root, server, serve_cifar, getter, name,
                                          make):
    (x_train, y_train, x_test, y_test), archive = make(0)
    filename = serve_cifar(name, archive)
    train, test = getter()
    assert isinstance(train, TupleDataset) and len(train) == len(x_train)
    image, label = train[1]
    assert image.shape == (3, 32, 32) and image.dtype == numpy.float32
    assert label.dtype == numpy.int32 and label == y_train[1]
    numpy.testing.assert_allclose(image, x_train[1].reshape(3, 32, 32) / numpy.float32(255),
                                  rtol=1e-6)
    images, labels = test._datasets
    numpy.testing.assert_array_equal(labels, y_test)
    assert (dataset_root / 'cifar' / filename).read_bytes() == archive
    assert (dataset_root / 'cifar' / (name + '.npz')).is_file()
    assert server.requests == ['/kriz/' + filename]

    flat = getter(withlabel=False, ndim=1, scale=2., dtype=numpy.float64)[0]
    assert flat.shape == (len(x_train), 3072) and flat.dtype == numpy.float64
    numpy.testing.assert_allclose(flat, x_train * (2. / 255))
    assert server.requests == ['/kriz/' + filename]  # from the converted cache


def test_cifar_arguments_are_checked(dataset_root):
    with pytest.raises(ValueError, match='get_cifar10: ndim must be 1.*or 3.*got 2'):
        get_cifar10(ndim=2)
    with pytest.raises(TypeError, match='get_cifar100: dtype must be a floating-point'):
        get_cifar100(dtype=numpy.int32)


def test_cifar_offline_says_which_file_to_place_where(dataset_root, monkeypatch):
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    folder = os.path.join(str(dataset_root), 'cifar')
    with pytest.raises(download.DownloadError) as error:
        get_cifar10()
    message = str(error.value)
    assert 'get_cifar10' in message and 'place cifar-10-python.tar.gz' in message
    assert folder in message and 'c58f30108f718f92721af3b95e74349a' in message


def test_cifar_placed_by_hand_is_used_offline(dataset_root, monkeypatch, serve_cifar):
    (x_train, _, _, _), archive = make_cifar10(1)
    filename = serve_cifar('cifar-10', archive)
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    (dataset_root / 'cifar').mkdir(parents=True)
    (dataset_root / 'cifar' / filename).write_bytes(archive)
    train, _ = get_cifar10(withlabel=False)
    numpy.testing.assert_allclose(train.reshape(len(train), -1), x_train / numpy.float32(255),
                                  rtol=1e-6)


def test_cifar_pickle_that_asks_for_code_is_refused(dataset_root, serve_cifar):
    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned',))
    archive = _tar_gz({'cifar-100-python/train': pickle.dumps({'data': Evil()}),
                       'cifar-100-python/test': pickle.dumps({'data': Evil()})})
    serve_cifar('cifar-100', archive)
    with pytest.raises(pickle.UnpicklingError, match='only NumPy arrays.*system'):
        get_cifar100()


PTB_TRAIN = ' the cat sat on the mat \n a dog <unk> the cat \n'
PTB_VALID = ' the dog sat \n'
PTB_TEST = ' a cat \n on <unk> \n'


@pytest.fixture
def serve_ptb(server, monkeypatch):
    texts = {'ptb.train.txt': PTB_TRAIN, 'ptb.valid.txt': PTB_VALID, 'ptb.test.txt': PTB_TEST}
    files = {name: text.encode() for name, text in texts.items()}
    monkeypatch.setattr(ptb, '_URL', server.serve('lstm', files))
    monkeypatch.setattr(ptb, '_FILES', tuple(
        (part, name, hashlib.md5(files[name]).hexdigest()) for part, name, _ in ptb._FILES))
    return files


def test_ptb_words_and_vocabulary(dataset_root, server, serve_ptb):
    train, valid, test = get_ptb_words()
    vocabulary = get_ptb_words_vocabulary()
    words = ['the', 'cat', 'sat', 'on', 'mat', '<eos>', 'a', 'dog', '<unk>']
    assert vocabulary == {word: i for i, word in enumerate(words)}
    for array, text in ((train, PTB_TRAIN), (valid, PTB_VALID), (test, PTB_TEST)):
        assert array.dtype == numpy.int32
        expected = [vocabulary[w] for line in text.splitlines() for w in line.split() + ['<eos>']]
        numpy.testing.assert_array_equal(array, expected)
    assert sorted(server.requests) == sorted('/lstm/' + name for name in serve_ptb)
    for name, data in serve_ptb.items():
        assert (dataset_root / 'ptb' / name).read_bytes() == data
    get_ptb_words()
    assert len(server.requests) == 3  # from the converted cache


def test_ptb_corrupt_download_names_the_file(dataset_root, server, serve_ptb, monkeypatch):
    monkeypatch.setattr(ptb, '_FILES', (('train', 'ptb.train.txt', '0' * 32),) + ptb._FILES[1:])
    with pytest.raises(download.DownloadError,
                       match=r'get_ptb_words: .*ptb\.train\.txt.*MD5.*place ptb\.train\.txt'):
        get_ptb_words()
    assert not (dataset_root / 'ptb' / 'ptb.train.txt').exists()


def test_ptb_offline_says_which_files_to_place_where(dataset_root, monkeypatch):
    monkeypatch.setenv('DCHAIN_OFFLINE', '1')
    with pytest.raises(download.DownloadError,
                       match='get_ptb_words_vocabulary: .*place ptb.train.txt .*ptb'):
        get_ptb_words_vocabulary()


def _ptb_in_child(barrier, results, root, url, files):
    os.environ['DCHAIN_DATASET_ROOT'] = root
    ptb._URL, ptb._FILES = url, files
    barrier.wait()
    results.put([array.tolist() for array in get_ptb_words()])


def test_two_processes_download_ptb_once(dataset_root, server, serve_ptb):
    import multiprocessing
    server.set_delay(0.2)  # long enough that both processes are inside the getter at once
    context = multiprocessing.get_context('spawn')
    barrier, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_ptb_in_child, args=(
        barrier, results, str(dataset_root), ptb._URL, ptb._FILES)) for _ in range(2)]
    for process in processes:
        process.start()
    words = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert words[0] == words[1] and len(words[0][0]) == 13
    assert sorted(server.requests) == sorted('/lstm/' + name for name in serve_ptb)
