"""The pool's image files, checked before any work starts.

A pool image that is not an image, is cut short or has another size than
its annotation says would otherwise end the loop in mmcv's ``failed to load
image`` after a cycle has trained. :func:`check_image_files` reads every
file's header up front (PIL, and OpenCV's own signature test, since mmdet
decodes with cv2), checks that a JPEG ends with its end-of-image marker and
a PNG with its ``IEND`` chunk (the tail of the file, not the whole file),
and compares the size with the annotation's ``width`` / ``height`` (swapped
when the EXIF orientation turns the image, as cv2 does when it loads it).

Files that pass are remembered in a cache outside the work dir, keyed by
the file's size and modification time, so a resumed run (or the next run on
the same images) does not read COCO's headers again and a refusal writes
nothing into the work dir. The cache is ``$MMAL_CACHE_DIR/image_files``
(default ``$XDG_CACHE_HOME/mmal``, else ``~/.cache/mmal``); one json file
per image folder.
"""
import hashlib
import json
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from stat import S_ISREG
from typing import Dict, List, Optional, Tuple

import cv2
from PIL import Image, UnidentifiedImageError

from mmal.utils.fileio import atomic_write_json

#: a pool at least this large gets a progress bar
PROGRESS_FROM = 2000
#: bytes read at the end of a file for its end marker
TAIL_BYTES = 4096
_JPEG_END = b'\xff\xd9'
_PNG_END = b'IEND\xaeB`\x82'
#: EXIF orientations that turn the image by 90 degrees
_TURNED = (5, 6, 7, 8)


class ImageFileError(ValueError):
    """An image file that the training pipeline could not load."""


def cache_dir() -> str:
    """Where mmal keeps caches that belong to no run."""
    root = os.environ.get('MMAL_CACHE_DIR')
    if not root:
        xdg = os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache')
        root = osp.join(xdg, 'mmal')
    return root


def read_image_size(path: str) -> Tuple[int, int]:
    """The (width, height) an image file decodes to, from its header.

    Raises:
        ImageFileError: The file is not an image OpenCV decodes, or a JPEG
            / PNG file is cut short; the message says which.
    """
    try:
        with Image.open(path) as im:
            fmt, (w, h) = im.format, im.size
            turned = fmt == 'JPEG' and im.getexif().get(0x0112) in _TURNED
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageFileError(f'not an image ({e})') from None
    if not cv2.haveImageReader(path):
        raise ImageFileError(f'a {fmt} file, which OpenCV (mmdet\'s image '
                             'decoder) cannot read')
    end = {'JPEG': _JPEG_END, 'PNG': _PNG_END}.get(fmt)
    if end is not None:
        with open(path, 'rb') as f:
            f.seek(max(0, osp.getsize(path) - TAIL_BYTES))
            tail = f.read()
        if end not in tail:
            raise ImageFileError(f'a {fmt} file that is cut short (no end '
                                 'marker in its last '
                                 f'{min(TAIL_BYTES, len(tail))} bytes)')
    return (h, w) if turned else (w, h)


class _Cache:
    """Sizes of the files of one folder that passed, keyed by file name,
    valid while the file's size and modification time are unchanged."""

    def __init__(self, img_dir: str):
        key = hashlib.sha256(osp.abspath(img_dir).encode()).hexdigest()[:16]
        self.path = osp.join(cache_dir(), 'image_files', f'{key}.json')
        self.img_dir = osp.abspath(img_dir)
        self.entries: Dict[str, list] = {}
        self.changed = False
        try:
            with open(self.path) as f:
                data = json.load(f)
            if data.get('img_dir') == self.img_dir:
                self.entries = dict(data['files'])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no cache, or a damaged one: check everything again

    def get(self, name: str, stat: os.stat_result) -> Optional[tuple]:
        e = self.entries.get(name)
        if (isinstance(e, list) and len(e) == 4
                and e[:2] == [stat.st_size, stat.st_mtime_ns]):
            return e[2], e[3]
        return None

    def put(self, name: str, stat: os.stat_result, size: tuple) -> None:
        self.entries[name] = [stat.st_size, stat.st_mtime_ns, *size]
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            atomic_write_json(
                dict(img_dir=self.img_dir, files=self.entries), self.path)
        except OSError:
            pass  # a read-only home: the next run checks again


def _check_one(img_dir: str, img: dict,
               cache: _Cache) -> Tuple[str, Optional[str], Optional[tuple]]:
    """(file name, problem or None, size to cache or None)."""
    name = img['file_name']
    path = osp.join(img_dir, name)
    try:
        stat = os.stat(path)
    except OSError:
        return name, 'missing', None
    if not S_ISREG(stat.st_mode):  # a folder of that name
        return name, 'missing', None
    size, new = cache.get(name, stat), None
    if size is None:
        try:
            size = new = read_image_size(path)
        except ImageFileError as e:
            return name, str(e), None
        except OSError as e:
            return name, f'unreadable ({e.strerror})', None
    want = (round(img['width']), round(img['height']))
    if tuple(size) != want:
        return (name, f'{size[0]}x{size[1]} pixels but the annotation says '
                f'{want[0]}x{want[1]}', new and (stat, new))
    return name, None, new and (stat, new)


def check_image_files(images: Dict[int, dict],
                      img_dir: str,
                      where: str,
                      progress: bool = True,
                      workers: int = 8) -> None:
    """Check every image file of a pool; raise one error listing the bad
    ones (how many, and the first few of each kind).

    Args:
        images (dict): Image id -> COCO image entry (``file_name``,
            ``width``, ``height``).
        img_dir (str): The folder the file names are relative to.
        where (str): How to name the annotation file in the error.
        progress (bool): Show a progress bar on pools of at least
            :data:`PROGRESS_FROM` images.
        workers (int): Threads reading headers (file reads wait on the
            disk, not the CPU).

    Raises:
        mmal.active_learning.pool.SplitError: Naming the files and what is
            wrong with each.
    """
    from tqdm import tqdm

    from .pool import SplitError
    cache = _Cache(img_dir)
    entries = list(images.values())
    bad: List[str] = []
    missing: List[str] = []
    with ThreadPoolExecutor(max(1, min(workers, len(entries)))) as pool:
        results = pool.map(lambda img: _check_one(img_dir, img, cache),
                           entries)
        for name, problem, new in tqdm(
                results,
                total=len(entries),
                desc='checking the pool images',
                disable=not progress or len(entries) < PROGRESS_FROM,
                mininterval=1):
            if new:
                cache.put(name, *new)
            if problem == 'missing':
                missing.append(name)
            elif problem:
                bad.append(f'{name}: {problem}')
    cache.save()
    if missing:
        raise SplitError(
            f'{len(missing)} of {len(images)} images of {where} are not '
            f'under {img_dir!r}, e.g. {missing[:3]}: do image ids / file '
            'names match the image folder (data_root + data_prefix.img)?')
    if bad:
        raise SplitError(f'{len(bad)} of {len(images)} images of {where} '
                         f'under {img_dir!r} cannot be trained on, e.g. ' +
                         '; '.join(sorted(bad)[:5]))
