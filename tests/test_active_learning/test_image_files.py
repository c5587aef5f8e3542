"""The pool's image files are checked (header, end marker, size) before any
work, with a cache keyed by file size and modification time."""
import os

import cv2
import numpy as np
import pytest
from PIL import Image

from mmal.active_learning import SplitError, image_files
from mmal.active_learning.image_files import (ImageFileError,
                                              check_image_files,
                                              read_image_size)


def _image(path, w=24, h=16):
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)
    assert cv2.imwrite(str(path), img)
    return str(path)


def _images(tmp_path, names, w=24, h=16):
    """Good images ``names`` and their COCO entries."""
    folder = tmp_path / 'img'
    folder.mkdir(exist_ok=True)
    for name in names:
        _image(folder / name, w, h)
    entries = {
        i: dict(id=i, file_name=n, width=w, height=h)
        for i, n in enumerate(names)
    }
    return str(folder), entries


@pytest.mark.parametrize('ext', ['.png', '.jpg', '.bmp'])
def test_good_images_read_their_size(tmp_path, ext):
    assert read_image_size(_image(tmp_path / f'a{ext}', 24, 16)) == (24, 16)


def test_exif_turned_jpeg_has_the_size_cv2_loads(tmp_path):
    path = tmp_path / 'turned.jpg'
    exif = Image.Exif()
    exif[0x0112] = 6  # turned by 90 degrees
    Image.new('RGB', (24, 16)).save(path, exif=exif)
    h, w = cv2.imread(str(path), cv2.IMREAD_COLOR).shape[:2]
    assert (w, h) == (16, 24)  # what mmdet's cv2 decoder gives
    assert read_image_size(str(path)) == (16, 24)


def test_a_text_file_is_not_an_image(tmp_path):
    path = tmp_path / 'a.png'
    path.write_text('not an image')
    with pytest.raises(ImageFileError, match='not an image'):
        read_image_size(str(path))


@pytest.mark.parametrize('ext,fmt', [('.png', 'PNG'), ('.jpg', 'JPEG')])
def test_a_cut_short_file_is_refused(tmp_path, ext, fmt):
    path = _image(tmp_path / f'a{ext}', 64, 64)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) * 2 // 3])
    with pytest.raises(ImageFileError, match=f'a {fmt} file that is cut'):
        read_image_size(path)


def test_the_pool_check_names_every_kind_of_bad_file(tmp_path):
    img_dir, images = _images(tmp_path, ['a.png', 'b.png', 'c.jpg', 'd.png'])
    (tmp_path / 'img' / 'b.png').write_bytes(b'\x89PNG garbage')
    images[2]['width'] = 25
    with pytest.raises(SplitError) as e:
        check_image_files(images, img_dir, 'pool.json')
    msg = str(e.value)
    assert msg.startswith('2 of 4 images of pool.json under ')
    assert 'b.png: not an image' in msg
    assert 'c.jpg: 24x16 pixels but the annotation says 25x16' in msg
    assert 'a.png' not in msg and 'd.png' not in msg
    os.remove(tmp_path / 'img' / 'd.png')
    with pytest.raises(SplitError, match=r"1 of 4 .* not under .*'d.png'"):
        check_image_files(images, img_dir, 'pool.json')


def test_checked_files_are_not_read_again_until_they_change(
        tmp_path, monkeypatch):
    monkeypatch.setenv('MMAL_CACHE_DIR', str(tmp_path / 'cache'))
    img_dir, images = _images(tmp_path, ['a.png', 'b.png'])
    read = []
    real = image_files.read_image_size
    monkeypatch.setattr(image_files, 'read_image_size',
                        lambda p: read.append(os.path.basename(p)) or real(p))
    check_image_files(images, img_dir, 'pool.json')
    assert sorted(read) == ['a.png', 'b.png']
    assert os.listdir(tmp_path / 'cache' / 'image_files')
    read.clear()
    check_image_files(images, img_dir, 'pool.json')
    assert read == []
    _image(tmp_path / 'img' / 'b.png', 30, 16)  # replaced: new size
    st = os.stat(tmp_path / 'img' / 'b.png')
    os.utime(
        tmp_path / 'img' / 'b.png',
        ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(SplitError, match='b.png: 30x16 pixels'):
        check_image_files(images, img_dir, 'pool.json')
    assert read == ['b.png']
    # a damaged cache is ignored, not trusted
    for name in os.listdir(tmp_path / 'cache' / 'image_files'):
        (tmp_path / 'cache' / 'image_files' / name).write_text('{"files": [')
    read.clear()
    images[1]['width'] = 30
    check_image_files(images, img_dir, 'pool.json')
    assert sorted(read) == ['a.png', 'b.png']
