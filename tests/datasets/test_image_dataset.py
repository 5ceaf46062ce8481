import builtins
import pickle

import numpy
import pytest

from dchain.datasets import ImageDataset, LabeledImageDataset

Image = pytest.importorskip('PIL.Image')


@pytest.fixture
def images(tmp_path):
    rng = numpy.random.default_rng(0)
    rgb = rng.integers(0, 256, (4, 5, 3), dtype=numpy.uint8)
    grey = rng.integers(0, 256, (4, 5), dtype=numpy.uint8)
    Image.fromarray(rgb).save(tmp_path / 'rgb.png')
    Image.fromarray(grey).save(tmp_path / 'grey.png')
    return tmp_path, rgb, grey


def test_image_dataset(images):
    root, rgb, grey = images
    dataset = ImageDataset(['rgb.png', 'grey.png'], root=str(root))
    assert len(dataset) == 2
    numpy.testing.assert_array_equal(dataset[0], rgb.transpose(2, 0, 1))
    assert dataset[0].dtype == numpy.float32
    numpy.testing.assert_array_equal(dataset[1], grey[None])
    listing = root / 'list.txt'
    listing.write_text('grey.png\nrgb.png\n')
    again = pickle.loads(pickle.dumps(ImageDataset(str(listing), root=str(root),
                                                   dtype=numpy.uint8)))
    assert again[1].dtype == numpy.uint8 and again[1].shape == (3, 4, 5)


def test_labeled_image_dataset(images):
    root, rgb, grey = images
    listing = root / 'pairs.txt'
    listing.write_text('rgb.png 3\ngrey.png 7\n')
    dataset = LabeledImageDataset(str(listing), root=str(root))
    image, label = dataset[1]
    numpy.testing.assert_array_equal(image, grey[None])
    assert label.dtype == numpy.int32 and label.shape == () and label == 7
    image, label = LabeledImageDataset([('rgb.png', 1)], str(root), label_dtype=numpy.int64)[0]
    assert image.shape == (3, 4, 5) and label.dtype == numpy.int64


def test_labeled_image_dataset_bad_line(tmp_path):
    listing = tmp_path / 'pairs.txt'
    listing.write_text('a.png 1\nb.png one\n')
    with pytest.raises(ValueError, match='line 2 of .*pairs.txt must be "path label"'):
        LabeledImageDataset(str(listing))


def test_missing_pillow_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name == 'PIL' or name.startswith('PIL.'):
            raise ImportError('No module named PIL')
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, '__import__', no_pillow)
    with pytest.raises(ImportError, match=r"ImageDataset needs Pillow.*dchain\[image\]"):
        ImageDataset(['x.png'])
    with pytest.raises(ImportError, match=r"LabeledImageDataset needs Pillow.*dchain\[image\]"):
        LabeledImageDataset([('x.png', 0)])
