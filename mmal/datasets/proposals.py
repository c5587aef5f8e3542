"""Precomputed object proposals for weakly-supervised detectors.

MIST / WSDDN-style detectors score a fixed set of boxes per image. This
module stores those boxes in one uncompressed ``.npz`` per split, read
without pickle (``np.load(..., allow_pickle=False)``)::

    image_ids  int64   (M,)       image ids of the COCO annotation json
    offsets    int64   (M+1,)     boxes of image i are boxes[offsets[i]:
                                  offsets[i+1]]
    boxes      float32 (sum N, 4) x1 y1 x2 y2 in pixels
    scores     float32 (sum N,)   optional objectness
    file_names <U      (M,)       optional image file names
    meta       <U      ()         optional json string (how it was made)

It also converts the proposal pickles of wetectron / Detectron / BiB (with
an unpickler that only rebuilds numpy arrays), and has a fast pixel-grouping
generator for the toy dataset (:func:`toy_proposals`).

The module imports only numpy, cv2 and the standard library at import time
(``tools/misc/generate_proposals.py`` loads it by path in environments
without torch).

Example:
    >>> from mmal.datasets import load_proposals, make_toy_proposals
    >>> paths = make_toy_proposals('data/toy', ann_files)
    >>> props = load_proposals(paths['train'])
    >>> props[1]['bboxes'].shape
    (300, 4)
"""
import fcntl
import json
import os
import os.path as osp
import pickle
import tempfile
import zipfile
from contextlib import contextmanager
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

REQUIRED_FIELDS = ('image_ids', 'offsets', 'boxes')
TOY_PROPOSALS_VERSION = 1


@contextmanager
def _atomic_binary(path: str) -> Iterator[IO]:
    """Binary twin of :func:`mmal.utils.fileio.atomic_open` (which cannot be
    imported here without torch, see the module docstring): write a
    temporary file next to ``path`` and rename it over ``path`` on success.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def _as_boxes(value: Any, what: str) -> np.ndarray:
    """``value`` as a finite float64 (N, 4) array; ValueError naming
    ``what`` otherwise. An empty input gives a (0, 4) array."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f'{what}: expected a numeric (N, 4) array ({e})')
    if arr.size == 0:
        return arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f'{what}: expected shape (N, 4), got '
                         f'{tuple(arr.shape)}')
    if not np.isfinite(arr).all():
        raise ValueError(f'{what}: contains non-finite values')
    return arr


def _as_scores(value: Any, num: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise ValueError(f'{what}: expected a numeric (N,) array ({e})')
    if arr.shape != (num, ):
        raise ValueError(f'{what}: expected {num} scores (one per box), '
                         f'got {arr.size}')
    if not np.isfinite(arr).all():
        raise ValueError(f'{what}: contains non-finite values')
    return arr


def save_proposals(path: str,
                   image_ids: Sequence[int],
                   boxes: Sequence[np.ndarray],
                   scores: Optional[Sequence[np.ndarray]] = None,
                   file_names: Optional[Sequence[str]] = None,
                   meta: Optional[dict] = None) -> str:
    """Write proposals to an uncompressed ``.npz``, atomically.

    Args:
        path (str): Destination file (the name is used as given).
        image_ids (Sequence[int]): Image id of each entry, unique.
        boxes (Sequence[np.ndarray]): Per image, an (N_i, 4) array of
            x1 y1 x2 y2 pixel boxes (N_i may be 0).
        scores (Sequence[np.ndarray], optional): Per image, (N_i,) scores.
        file_names (Sequence[str], optional): Per image, its file name.
        meta (dict, optional): Json-serialisable description, stored as a
            json string in the ``meta`` field.

    Returns:
        str: ``path``.
    """
    try:
        ids = np.asarray(image_ids)
    except (TypeError, ValueError) as e:
        raise ValueError(f'image_ids: expected integers ({e})')
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in 'iu'):
        raise ValueError(f'image_ids: expected a 1-d sequence of integers, '
                         f'got dtype {ids.dtype} shape {ids.shape}')
    ids = ids.astype(np.int64)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f'image_ids: duplicate id {int(uniq[counts > 1][0])}')
    num = len(ids)
    if len(boxes) != num:
        raise ValueError(f'boxes: expected {num} per-image arrays (one per '
                         f'image id), got {len(boxes)}')
    box_list = [
        _as_boxes(b, f'boxes[{i}] (image id {ids[i]})')
        for i, b in enumerate(boxes)
    ]
    lengths = np.array([len(b) for b in box_list], dtype=np.int64)
    arrays = dict(
        image_ids=ids,
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        boxes=(np.concatenate(box_list) if num else np.zeros(
            (0, 4))).astype(np.float32))
    if scores is not None:
        if len(scores) != num:
            raise ValueError(f'scores: expected {num} per-image arrays, got '
                             f'{len(scores)}')
        score_list = [
            _as_scores(s, lengths[i], f'scores[{i}] (image id {ids[i]})')
            for i, s in enumerate(scores)
        ]
        arrays['scores'] = (np.concatenate(score_list)
                            if num else np.zeros(0)).astype(np.float32)
    if file_names is not None:
        if len(file_names) != num:
            raise ValueError(f'file_names: expected {num} names, got '
                             f'{len(file_names)}')
        if not all(isinstance(n, str) for n in file_names):
            raise ValueError('file_names: expected strings')
        arrays['file_names'] = np.array(list(file_names), dtype=np.str_)
    if meta is not None:
        arrays['meta'] = np.array(json.dumps(meta, sort_keys=True))
    with _atomic_binary(path) as f:
        np.savez(f, **arrays)
    return path


def _read_npz(path: str) -> Dict[str, np.ndarray]:
    """Read and validate every field of a proposal ``.npz``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: proposal file not found')
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f'{path}: not a readable .npz proposal file ({e})')
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f'{path}: expected an .npz archive of named fields, '
                         f'got a single array')
    with npz:
        missing = [k for k in REQUIRED_FIELDS if k not in npz.files]
        if missing:
            raise ValueError(f'{path}: missing field(s) {missing}; expected '
                             f'{list(REQUIRED_FIELDS)} (found {npz.files})')
        data = {}
        for name in npz.files:
            try:
                data[name] = npz[name]
            except ValueError as e:
                raise ValueError(f'{path}: field {name} cannot be read '
                                 f'without pickle (object arrays are refused;'
                                 f' expected a numeric or unicode array): {e}')
            except (OSError, zipfile.BadZipFile) as e:
                raise ValueError(f'{path}: field {name} is corrupt ({e})')

    def fail(name, expected, arr):
        raise ValueError(f'{path}: field {name} must be {expected}, got '
                         f'dtype {arr.dtype} shape {arr.shape}')

    ids, offsets, boxes = data['image_ids'], data['offsets'], data['boxes']
    if ids.ndim != 1 or ids.dtype.kind not in 'iu':
        fail('image_ids', 'a 1-d integer array', ids)
    num = len(ids)
    if offsets.shape != (num + 1, ) or offsets.dtype.kind not in 'iu':
        fail(
            'offsets', f'a 1-d integer array of length {num + 1} '
            f'(len(image_ids) + 1)', offsets)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.dtype.kind != 'f':
        fail('boxes', 'a float (N, 4) array', boxes)
    if offsets[0] != 0 or offsets[-1] != len(boxes) or (np.diff(offsets)
                                                        < 0).any():
        raise ValueError(f'{path}: field offsets must be non-decreasing, '
                         f'start at 0 and end at len(boxes)={len(boxes)}; '
                         f'got first {int(offsets[0])}, last '
                         f'{int(offsets[-1])}, min step '
                         f'{int(np.diff(offsets).min()) if num else 0}')
    if not np.isfinite(boxes).all():
        raise ValueError(f'{path}: field boxes contains non-finite values')
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f'{path}: field image_ids must be unique; id '
                         f'{int(uniq[counts > 1][0])} appears '
                         f'{int(counts[counts > 1][0])} times')
    scores = data.get('scores')
    if scores is not None:
        if scores.shape != (len(boxes), ) or scores.dtype.kind != 'f':
            fail('scores', f'a float array of shape ({len(boxes)},)', scores)
        if not np.isfinite(scores).all():
            raise ValueError(f'{path}: field scores contains non-finite '
                             f'values')
    names = data.get('file_names')
    if names is not None and (names.shape != (num, )
                              or names.dtype.kind != 'U'):
        fail('file_names', f'a unicode array of shape ({num},)', names)
    meta = data.get('meta')
    if meta is not None and (meta.shape != () or meta.dtype.kind != 'U'):
        fail('meta', 'a unicode scalar (json string)', meta)
    return data


def load_proposals(path: str) -> Dict[int, dict]:
    """Read a proposal ``.npz`` written by :func:`save_proposals`.

    Args:
        path (str): The ``.npz`` file.

    Returns:
        dict: Image id -> ``{'bboxes': float32 (N, 4), 'scores': float32
        (N,)}``; scores are zeros when the file has none.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: A field is missing or malformed; the message names the
            file, the field and what was expected.
    """
    data = _read_npz(path)
    boxes = data['boxes'].astype(np.float32)
    scores = data.get('scores')
    scores = (
        np.zeros(len(boxes), np.float32)
        if scores is None else scores.astype(np.float32))
    offsets = data['offsets']
    return {
        int(image_id):
        dict(
            bboxes=boxes[offsets[i]:offsets[i + 1]].copy(),
            scores=scores[offsets[i]:offsets[i + 1]].copy())
        for i, image_id in enumerate(data['image_ids'])
    }


def read_proposal_meta(path: str) -> Optional[dict]:
    """The ``meta`` dict of a proposal ``.npz``, or None without one."""
    meta = _read_npz(path).get('meta')
    return None if meta is None else json.loads(str(meta))


def clean_proposals(boxes: np.ndarray,
                    img_shape: Tuple[int, int],
                    min_size: float = 2) -> np.ndarray:
    """Indices of the proposals worth keeping, in their original order.

    Boxes are clipped to the image (x in [0, w], y in [0, h]); a box whose
    clipped width or height is below ``min_size`` is dropped, and of boxes
    equal after rounding their clipped coordinates to integers only the
    first is kept.

    Args:
        boxes (np.ndarray): (N, 4) x1 y1 x2 y2 boxes.
        img_shape (tuple): ``(height, width)`` of the image.
        min_size (float): Smallest kept side in pixels. Defaults to 2.

    Returns:
        np.ndarray: int64 indices into ``boxes``, increasing.
    """
    clipped = _clip(_as_boxes(boxes, 'boxes'), img_shape)
    sides = clipped[:, 2:] - clipped[:, :2]
    idx = np.nonzero((sides >= min_size).all(axis=1))[0]
    if idx.size == 0:
        return idx.astype(np.int64)
    rounded = np.round(clipped[idx]).astype(np.int64)
    _, first = np.unique(rounded, axis=0, return_index=True)
    return np.sort(idx[first]).astype(np.int64)


def _clip(boxes: np.ndarray, img_shape: Tuple[int, int]) -> np.ndarray:
    h, w = img_shape[:2]
    out = np.array(boxes, dtype=np.float64, copy=True)
    out[:, 0::2] = out[:, 0::2].clip(0, w)
    out[:, 1::2] = out[:, 1::2].clip(0, h)
    return out


def apply_clean(
        boxes: np.ndarray,
        scores: Optional[np.ndarray],
        img_shape: Tuple[int, int],
        min_size: float = 2) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Clip, filter and de-duplicate proposals (see
    :func:`clean_proposals`).

    Returns:
        tuple: The clipped float32 boxes and their float32 scores (None when
        ``scores`` is None) at the kept indices.
    """
    boxes = _as_boxes(boxes, 'boxes')
    keep = clean_proposals(boxes, img_shape, min_size)
    out = _clip(boxes[keep], img_shape).astype(np.float32)
    if scores is None:
        return out, None
    scores = _as_scores(scores, len(boxes), 'scores')
    return out, scores[keep].astype(np.float32)


# --------------------------------------------------------------------------
# Proposal pickles of other projects.


def _numpy_multiarray():
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    return multiarray


def _numpy_frombuffer():
    try:
        from numpy._core.numeric import _frombuffer
    except ImportError:  # numpy < 2
        from numpy.core.numeric import _frombuffer
    return _frombuffer


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain containers only.

    Any other global (a class or function the pickle asks to import) raises
    :class:`pickle.UnpicklingError` before it is imported, so a crafted
    pickle cannot run code.
    """

    SAFE_GLOBALS = {
        ('numpy.core.multiarray', '_reconstruct'):
        '_reconstruct',
        ('numpy._core.multiarray', '_reconstruct'):
        '_reconstruct',
        ('numpy.core.multiarray', 'scalar'):
        'scalar',
        ('numpy._core.multiarray', 'scalar'):
        'scalar',
        # Protocol 5 pickles rebuild arrays from a buffer.
        ('numpy.core.numeric', '_frombuffer'):
        '_frombuffer',
        ('numpy._core.numeric', '_frombuffer'):
        '_frombuffer',
        ('numpy', 'ndarray'):
        'ndarray',
        ('numpy', 'dtype'):
        'dtype',
        # Protocol <= 2 pickles written by Python 3 store bytes as
        # _codecs.encode(str, 'latin1'); it only converts text to bytes.
        ('_codecs', 'encode'):
        'encode',
    }

    def __init__(self, file: IO, path: str):
        super().__init__(file, encoding='latin1')
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        what = self.SAFE_GLOBALS.get((module, name))
        if what is None:
            raise pickle.UnpicklingError(
                f'{self.path}: refusing to load global {module}.{name}: '
                f'proposal pickles may only contain numpy arrays, numbers, '
                f'strings, lists and dicts')
        if what == 'encode':
            import codecs
            return codecs.encode
        if what in ('ndarray', 'dtype'):
            return getattr(np, what)
        if what == '_frombuffer':
            return _numpy_frombuffer()
        return getattr(_numpy_multiarray(), what)


def _id_value(value: Any) -> Any:
    """An entry id as int when it is integral, else as str."""
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode('latin1')
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return str(value)


def read_proposal_pickle(path: str) -> dict:
    """Read a wetectron / Detectron / BiB / mmdet proposal pickle safely.

    Only numpy arrays, numbers, strings, lists and dicts are rebuilt (see
    :class:`_NumpyOnlyUnpickler`); py2 pickles are read with
    ``encoding='latin1'``. Accepted layouts:

    * ``{'boxes': [N_i x 4 arrays], 'scores': [arrays] (optional),
      'indexes' or 'ids': [image ids]}`` (wetectron uses ``indexes`` for
      VOC, ``ids`` for COCO; Detectron uses ``ids``);
    * mmdet's ``{file key: {'bboxes': array, 'scores': array}}``.

    Args:
        path (str): The pickle.

    Returns:
        dict: ``ids`` (list of int / str, or None), ``file_keys`` (list of
        str, or None; set for the mmdet layout), ``boxes`` (list of float64
        (N_i, 4) arrays, as stored) and ``scores`` (list of float64 arrays,
        or None).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: proposal pickle not found')
    with open(path, 'rb') as f:
        try:
            obj = _NumpyOnlyUnpickler(f, path).load()
        except pickle.UnpicklingError:
            raise
        except Exception as e:  # truncated or not a pickle at all
            raise ValueError(f'{path}: not a readable proposal pickle '
                             f'({type(e).__name__}: {e})')
    if not isinstance(obj, dict):
        raise ValueError(f'{path}: expected a dict with boxes and indexes/ids '
                         f'(or mmdet\'s file key -> {{bboxes, scores}}), got '
                         f'{type(obj).__name__}')
    if 'boxes' in obj:
        id_key = 'indexes' if 'indexes' in obj else 'ids'
        if id_key not in obj:
            raise ValueError(f'{path}: has key boxes but neither indexes nor '
                             f'ids (the image ids); keys: {sorted(obj)}')
        ids = [_id_value(v) for v in obj[id_key]]
        boxes = [
            _as_boxes(b, f'{path}: boxes[{i}]')
            for i, b in enumerate(obj['boxes'])
        ]
        if len(boxes) != len(ids):
            raise ValueError(f'{path}: {len(boxes)} entries in boxes but '
                             f'{len(ids)} in {id_key}')
        scores = None
        if obj.get('scores') is not None:
            if len(obj['scores']) != len(boxes):
                raise ValueError(f'{path}: {len(obj["scores"])} entries in '
                                 f'scores but {len(boxes)} in boxes')
            scores = [
                _as_scores(s, len(b), f'{path}: scores[{i}]')
                for i, (s, b) in enumerate(zip(obj['scores'], boxes))
            ]
        return dict(ids=ids, file_keys=None, boxes=boxes, scores=scores)
    if obj and all(isinstance(v, dict) for v in obj.values()):
        keys = [str(k) for k in obj]
        for key, value in obj.items():
            if 'bboxes' not in value:
                raise ValueError(f'{path}: entry {key!r} has no bboxes '
                                 f'(keys: {sorted(value)})')
        boxes = [
            _as_boxes(v['bboxes'], f'{path}: {k!r}.bboxes')
            for k, v in obj.items()
        ]
        with_scores = [v.get('scores') is not None for v in obj.values()]
        scores = None
        if all(with_scores):
            scores = [
                _as_scores(v['scores'], len(b), f'{path}: {k!r}.scores')
                for (k, v), b in zip(obj.items(), boxes)
            ]
        return dict(ids=None, file_keys=keys, boxes=boxes, scores=scores)
    raise ValueError(f'{path}: unrecognised layout: expected key boxes (with '
                     f'indexes or ids) or a dict of file key -> dict with '
                     f'bboxes; keys: {sorted(map(str, obj))[:10]}')


def _stem_int(file_name: str) -> Optional[int]:
    stem = osp.splitext(osp.basename(file_name))[0]
    return int(stem) if stem.isdigit() else None


def _match_entries(data: dict, images: List[dict]) -> Tuple[list, str]:
    """Json image index (or None) of each pickle entry, and how matched."""
    if data['file_keys'] is not None:
        by_name, by_base = {}, {}
        for i, img in enumerate(images):
            name = img['file_name']
            by_name[name] = i
            parts = name.replace('\\', '/').split('/')
            by_name['/'.join(parts[-2:])] = i
            by_base.setdefault(parts[-1], []).append(i)
        matched = []
        for key in data['file_keys']:
            key = key.replace('\\', '/')
            if key in by_name:
                matched.append(by_name[key])
            else:
                hits = by_base.get(key.split('/')[-1], [])
                matched.append(hits[0] if len(hits) == 1 else None)
        return matched, 'file_name'
    by_id = {img['id']: i for i, img in enumerate(images)}
    by_stem: Dict[Any, Optional[int]] = {}
    for i, img in enumerate(images):
        stem = osp.splitext(osp.basename(img['file_name']))[0]
        keys = {stem} | ({int(stem)} if stem.isdigit() else set())
        for key in keys:  # an ambiguous stem matches nothing
            by_stem[key] = None if key in by_stem else i
    by_id_hits = [by_id.get(v) for v in data['ids']]
    by_stem_hits = [by_stem.get(v) for v in data['ids']]
    n_id = sum(h is not None for h in by_id_hits)
    n_stem = sum(h is not None for h in by_stem_hits)
    # One rule for the whole file: a VOC json numbered 1..M would match
    # some VOC indexes (int(stem)) by id, wrongly.
    if n_stem > n_id:
        return by_stem_hits, 'file_name_stem'
    return by_id_hits, 'id'


def voc_image_set(image_set: str) -> List[dict]:
    """The images of a VOC image set file (``VOC2007/ImageSets/Main/
    trainval.txt``) as COCO image records: ``id`` is the integer file stem
    (as :class:`mmal.datasets.WeakVOCDataset` keys proposals), ``width`` /
    ``height`` come from ``Annotations/{stem}.xml``."""
    import xml.etree.ElementTree as ET
    voc_dir = osp.dirname(osp.dirname(osp.dirname(osp.abspath(image_set))))
    with open(image_set) as f:
        stems = [line.split()[0] for line in f if line.strip()]
    images = []
    for stem in stems:
        xml = osp.join(voc_dir, 'Annotations', f'{stem}.xml')
        try:
            size = ET.parse(xml).getroot().find('size')
            width = int(size.find('width').text)
            height = int(size.find('height').text)
        except (OSError, ET.ParseError, AttributeError, ValueError) as e:
            raise ValueError(f'{xml}: cannot read the image size of {stem} '
                             f'listed in {image_set} ({e})') from e
        images.append(
            dict(
                id=int(stem),
                file_name=f'{stem}.jpg',
                width=width,
                height=height))
    return images


def convert_proposal_pickle(pkl_path: str,
                            ann_file: str,
                            out_path: str,
                            box_order: str = 'xyxy',
                            one_based: bool = False,
                            min_size: float = 2,
                            allow_missing: bool = False) -> dict:
    """Convert a proposal pickle to the ``.npz`` of a COCO annotation json.

    Entries are matched to the json images by image id (wetectron's COCO
    ``ids``) or, when that matches more of them, by the integer file-name
    stem (wetectron's VOC ``indexes``: ``'000005.jpg'`` -> 5); the mmdet
    layout is matched by file name. Boxes are reordered, shifted, clipped
    to the image size in the json and cleaned with
    :func:`clean_proposals`.

    Args:
        pkl_path (str): The proposal pickle.
        ann_file (str): COCO annotation json whose images get proposals, or
            a VOC image set ``.txt`` (see :func:`voc_image_set`).
        out_path (str): Output ``.npz``.
        box_order (str): ``'xyxy'`` or ``'yxyx'`` (raw Selective Search
            ``.mat`` order). Defaults to ``'xyxy'``.
        one_based (bool): Subtract 1 from every coordinate (MATLAB boxes,
            like Detectron's conversion). Defaults to False.
        min_size (float): Smallest kept box side. Defaults to 2.
        allow_missing (bool): Write json images without proposals with no
            boxes instead of raising. Defaults to False.

    Returns:
        dict: Counts: ``images`` (in the json), ``matched``, ``missing``
        (json images without proposals), ``unmatched_entries`` (pickle
        entries of no json image), ``match_by``, ``boxes_before``,
        ``boxes_after`` and ``out_path``.
    """
    if box_order not in ('xyxy', 'yxyx'):
        raise ValueError(f'box_order must be xyxy or yxyx, got {box_order!r}')
    data = read_proposal_pickle(pkl_path)
    if ann_file.endswith('.txt'):
        coco = dict(images=voc_image_set(ann_file))
    else:
        with open(ann_file) as f:
            coco = json.load(f)
    images = coco.get('images') if isinstance(coco, dict) else None
    if not isinstance(images, list):
        raise ValueError(f'{ann_file}: expected a COCO json with an images '
                         f'list')
    for img in images:
        for key in ('id', 'file_name', 'width', 'height'):
            if key not in img:
                raise ValueError(f'{ann_file}: image {img.get("id")} has no '
                                 f'{key}')
    matched, match_by = _match_entries(data, images)
    entry_of: Dict[int, int] = {}
    for entry, index in enumerate(matched):
        if index is None:
            continue
        if index in entry_of:
            raise ValueError(
                f'{pkl_path}: entries {entry_of[index]} and {entry} both '
                f'match image id {images[index]["id"]} of {ann_file}')
        entry_of[index] = entry
    missing = [img['id'] for i, img in enumerate(images) if i not in entry_of]
    if missing and not allow_missing:
        raise ValueError(
            f'{ann_file}: {len(missing)} of {len(images)} images have no '
            f'proposals in {pkl_path} (matched by {match_by}), e.g. ids '
            f'{missing[:5]}; pass allow_missing=True to write them with no '
            f'boxes')
    out_boxes, out_scores = [], []
    before = after = 0
    for i, img in enumerate(images):
        entry = entry_of.get(i)
        if entry is None:
            out_boxes.append(np.zeros((0, 4), np.float32))
            out_scores.append(np.zeros(0, np.float32))
            continue
        boxes = data['boxes'][entry]
        if box_order == 'yxyx':
            boxes = boxes[:, [1, 0, 3, 2]]
        if one_based:
            boxes = boxes - 1
        scores = (
            data['scores'][entry] if data['scores'] is not None else np.zeros(
                len(boxes)))
        boxes, scores = apply_clean(boxes, scores,
                                    (img['height'], img['width']), min_size)
        before += len(data['boxes'][entry])
        after += len(boxes)
        out_boxes.append(boxes)
        out_scores.append(scores)
    save_proposals(
        out_path, [img['id'] for img in images],
        out_boxes,
        out_scores if data['scores'] is not None else None,
        file_names=[img['file_name'] for img in images],
        meta=dict(
            source=osp.abspath(pkl_path),
            box_order=box_order,
            one_based=one_based,
            min_size=min_size))
    return dict(
        images=len(images),
        matched=len(entry_of),
        missing=len(missing),
        unmatched_entries=sum(m is None for m in matched),
        match_by=match_by,
        boxes_before=before,
        boxes_after=after,
        out_path=out_path)


# --------------------------------------------------------------------------
# A fast pixel-grouping generator (a simplified selective search).


def _as_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f'img: expected an (H, W, 3) RGB image, got shape '
                         f'{img.shape}')
    img = img[:, :, :3]
    if img.dtype != np.uint8:
        scale = 255.0 if img.dtype.kind == 'f' and img.max() <= 1.0 else 1.0
        img = np.clip(img * scale, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def _box_sums(integral: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Sums of a map over integer boxes via its integral image."""
    x1, y1, x2, y2 = boxes.T
    return (integral[y2, x2] - integral[y1, x2] - integral[y2, x1] +
            integral[y1, x1])


def _objectness(saliency: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Centre-surround contrast: mean saliency inside a box minus the mean
    in a ring around it (half the box size wide)."""
    h, w = saliency.shape
    integral = cv2.integral(saliency.astype(np.float32), sdepth=cv2.CV_64F)
    inner = np.round(boxes).astype(np.int64)
    inner[:, 0::2] = inner[:, 0::2].clip(0, w)
    inner[:, 1::2] = inner[:, 1::2].clip(0, h)
    inner[:, 2:] = np.maximum(inner[:, 2:], inner[:, :2] + 1).clip(max=[w, h])
    inner[:, :2] = np.minimum(inner[:, :2], inner[:, 2:] - 1)
    size = inner[:, 2:] - inner[:, :2]
    outer = np.concatenate(
        [inner[:, :2] - size // 4, inner[:, 2:] + size // 4], axis=1)
    outer[:, 0::2] = outer[:, 0::2].clip(0, w)
    outer[:, 1::2] = outer[:, 1::2].clip(0, h)
    area_in = np.prod(size, axis=1).astype(np.float64)
    area_out = np.prod(outer[:, 2:] - outer[:, :2], axis=1) - area_in
    sum_in = _box_sums(integral, inner)
    sum_out = _box_sums(integral, outer) - sum_in
    ring = np.where(area_out > 0, sum_out / np.maximum(area_out, 1), 0)
    return sum_in / area_in - ring


def _saliency(img: np.ndarray) -> Tuple[np.ndarray, np.ndarray, float]:
    """Colour distance of the smoothed and raw image from a background
    estimate (a large median), and the background noise level."""
    h, w = img.shape[:2]
    small = cv2.resize(
        img, (max(8, w // 4), max(8, h // 4)), interpolation=cv2.INTER_AREA)
    ksize = 2 * (min(small.shape[:2]) // 6) + 1
    bg = cv2.medianBlur(small, max(3, ksize))
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    bg = bg.astype(np.float32)
    smooth = cv2.blur(img, (3, 3)).astype(np.float32)
    dist = np.sqrt(((smooth - bg)**2).sum(axis=2))
    raw = np.sqrt(((img.astype(np.float32) - bg)**2).sum(axis=2))
    noise = max(float(np.median(dist)), 2.0)
    return dist, raw, noise


def _flat_mask(img: np.ndarray, tol: int) -> np.ndarray:
    """Pixels whose 4 neighbours all have (almost) the same colour."""
    px = img.astype(np.int16)
    dx = np.abs(px[:, 1:] - px[:, :-1]).max(axis=2) > tol
    dy = np.abs(px[1:] - px[:-1]).max(axis=2) > tol
    edge = np.zeros(img.shape[:2], bool)
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:] |= dy
    edge[:-1] |= dy
    return ~edge


def _label_stats(labels: np.ndarray, num: int,
                 img: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Per label 1..num-1: box (x1 y1 x2 y2, exclusive), size, mean
    colour."""
    flat = labels.ravel()
    sel = flat > 0
    lab = flat[sel]
    ys, xs = np.divmod(np.nonzero(sel)[0], labels.shape[1])
    size = np.bincount(lab, minlength=num)[1:].astype(np.float64)
    boxes = np.zeros((num - 1, 4), np.int64)
    for k, (coord, fn) in enumerate(((xs, np.minimum), (ys, np.minimum),
                                     (xs, np.maximum), (ys, np.maximum))):
        init = np.full(num, 1 << 30 if fn is np.minimum else -1, np.int64)
        fn.at(init, lab, coord)
        boxes[:, k] = init[1:]
    boxes[:, 2:] += 1
    sums = [
        np.bincount(lab, weights=img[:, :, c].ravel()[sel], minlength=num)[1:]
        for c in range(3)
    ]
    colour = np.stack(sums, axis=1) / np.maximum(size, 1)[:, None]
    return boxes, size, colour


def _segments(
    img: np.ndarray, dist: np.ndarray, raw: np.ndarray, noise: float
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, List[np.ndarray]]:
    """Initial regions: flat-colour foreground segments (grown back over
    their borders), and the boxes of foreground blobs at several contrast
    levels."""
    h, w = dist.shape
    min_area = max(4, int(h * w * 2e-4))
    blob_boxes = []
    for level in (4, 8, 16):
        fg = (dist > noise * level).astype(np.uint8)
        num, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        stats = stats[1:]
        stats = stats[stats[:, cv2.CC_STAT_AREA] >= min_area]
        blob_boxes.append(
            np.concatenate([stats[:, :2], stats[:, :2] + stats[:, 2:4]],
                           axis=1))
    fg = dist > noise * 4
    seeds = (fg & _flat_mask(img, 3)).astype(np.uint8)
    num, labels = cv2.connectedComponents(seeds, connectivity=4)
    if num > 1:
        sizes = np.bincount(labels.ravel(), minlength=num)
        labels[sizes[labels] < min_area] = 0
        # Grow the seeds over the (non-flat) rims of their objects.
        grow = fg | (raw > noise * 6)
        lab = labels.astype(np.float32)
        kernel = np.ones((3, 3), np.uint8)
        for _ in range(2):
            dil = cv2.dilate(lab, kernel)
            lab = np.where((lab == 0) & grow, dil, lab)
        labels = lab.astype(np.int32)
        used, labels = np.unique(labels, return_inverse=True)
        labels = labels.reshape(h, w)
        if used[0] != 0:
            labels += 1
        num = int(labels.max()) + 1
    if num <= 1:
        return (np.zeros((0, 4), np.int64), np.zeros(0), np.zeros(
            (0, 3)), blob_boxes)
    boxes, size, colour = _label_stats(labels, num, img)
    return boxes, size, colour, blob_boxes


def _group(boxes: np.ndarray, size: np.ndarray, colour: np.ndarray,
           img_area: float, colour_weight: float, gap_norm: float,
           max_regions: int) -> np.ndarray:
    """Greedy hierarchical grouping (as selective search): repeatedly merge
    the cheapest pair (mean-colour distance, area of the union box, which is
    selective search's size + fill term, and the gap between the boxes) and
    emit the union box of every merge. At most ``max_regions`` (the largest)
    take part."""
    if len(boxes) > max_regions:
        keep = np.argsort(-size, kind='stable')[:max_regions]
        boxes, size, colour = boxes[keep], size[keep], colour[keep]
    boxes = boxes.astype(np.float64)
    size = size.astype(np.float64)
    colour = colour.astype(np.float64)
    n = len(boxes)
    if n < 2:
        return np.zeros((0, 4))

    def costs(rows):
        """(len(rows), n) merge costs of regions ``rows`` with all."""
        b, c = boxes[rows, None], colour[rows, None]
        lo = np.minimum(b[..., :2], boxes[:, :2])
        hi = np.maximum(b[..., 2:], boxes[:, 2:])
        union = np.prod(hi - lo, axis=-1)
        gap = (np.maximum(b[..., :2], boxes[:, :2]) -
               np.minimum(b[..., 2:], boxes[:, 2:])).max(axis=-1)
        diff = np.sqrt(((colour - c)**2).sum(axis=-1))
        return (colour_weight / 255 * diff + union / img_area +
                np.maximum(gap, 0) / gap_norm)

    # size_i + size_j + (union - size_i - size_j) reduces to the union box
    # area: small, compact pairs merge first, as in selective search.
    cost = costs(np.arange(n))
    np.fill_diagonal(cost, np.inf)
    out = []
    for _ in range(n - 1):
        i, j = divmod(int(np.argmin(cost)), n)
        if not np.isfinite(cost[i, j]):
            break
        total = size[i] + size[j]
        colour[i] = (colour[i] * size[i] + colour[j] * size[j]) / total
        size[i] = total
        boxes[i, :2] = np.minimum(boxes[i, :2], boxes[j, :2])
        boxes[i, 2:] = np.maximum(boxes[i, 2:], boxes[j, 2:])
        row = costs(np.array([i]))[0]
        row[~np.isfinite(cost[i])] = np.inf  # dead regions, itself
        row[j] = np.inf
        cost[j] = np.inf
        cost[:, j] = np.inf
        cost[i] = row
        cost[:, i] = row
        out.append(boxes[i].copy())
    return np.array(out, np.float64).reshape(-1, 4)


def _split_parts(boxes: np.ndarray) -> np.ndarray:
    """Equal parts of elongated boxes (rows of touching objects)."""
    out = []
    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        if min(w, h) <= 0:
            continue
        ratio = max(w, h) / min(w, h)
        for k in range(2, min(4, int(round(ratio))) + 1):
            if w >= h:
                step = w / k
                out += [[x1 + i * step, y1, x1 + (i + 1) * step, y2]
                        for i in range(k)]
            else:
                step = h / k
                out += [[x1, y1 + i * step, x2, y1 + (i + 1) * step]
                        for i in range(k)]
    return np.array(out, np.float64).reshape(-1, 4)


def _grid(h: int, w: int) -> np.ndarray:
    """Windows of 1/4, 1/2 and 3/4 of the image side, half-overlapping, and
    the whole image."""
    out = [[0, 0, w, h]]
    for frac in (0.25, 0.5, 0.75):
        bw, bh = w * frac, h * frac
        xs = np.linspace(0, w - bw, int(np.ceil((w - bw) / (bw / 2))) + 1)
        ys = np.linspace(0, h - bh, int(np.ceil((h - bh) / (bh / 2))) + 1)
        out += [[x, y, x + bw, y + bh] for y in ys for x in xs]
    return np.array(out, np.float64)


def _jitter(boxes: np.ndarray, copies: int,
            rng: np.random.Generator) -> np.ndarray:
    """``copies`` randomly shifted and rescaled versions of each box
    (10-30% of its size)."""
    if copies <= 0 or len(boxes) == 0:
        return np.zeros((0, 4))
    base = np.repeat(boxes, copies, axis=0)
    size = base[:, 2:] - base[:, :2]
    centre = (base[:, :2] + base[:, 2:]) / 2
    mag = rng.uniform(0.1, 0.3, size=(len(base), 1))
    sign = rng.choice([-1.0, 1.0], size=(len(base), 2))
    kind = rng.integers(0, 3, size=(len(base), 1))  # shift, scale, both
    shift = np.where(kind != 1, sign * mag * size, 0)
    scale = np.where(kind != 0,
                     1 + rng.uniform(-1, 1, size=(len(base), 2)) * mag, 1)
    half = size * scale / 2
    centre = centre + shift
    return np.concatenate([centre - half, centre + half], axis=1)


def toy_proposals(
    img: np.ndarray,
    max_proposals: int = 300,
    rng: Optional[np.random.Generator] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Object proposals from the pixels of one image (a simplified
    selective search), fast enough to run over a dataset in seconds.

    Made for the toy dataset (flat coloured shapes on a noisy background) but
    runs on any RGB image: foreground is colour distance from a large-median
    background; initial regions are flat-colour foreground segments and
    foreground blobs at three contrast levels; a greedy hierarchical
    grouping (two similarity mixes) adds the union boxes of neighbouring
    regions (whole groups and parts); equal parts of elongated regions,
    jittered copies of the region boxes and a multi-scale grid of windows
    (background boxes) fill the budget. Boxes are cleaned with
    :func:`clean_proposals` and ordered region boxes first, each tier by
    centre-surround contrast.

    Args:
        img (np.ndarray): (H, W, 3) RGB image (uint8, or float in [0, 1]).
        max_proposals (int): Most boxes returned. Defaults to 300.
        rng (np.random.Generator, optional): Randomness of the jitter; the
            same seed gives the same boxes. Defaults to a generator seeded
            with 0.

    Returns:
        tuple: float32 (N, 4) x1 y1 x2 y2 boxes in pixels of ``img`` and
        float32 (N,) scores in [0, 1], N <= ``max_proposals``.
    """
    if max_proposals < 1:
        raise ValueError(f'max_proposals must be >= 1, got {max_proposals}')
    rng = np.random.default_rng(0) if rng is None else rng
    img = _as_rgb(img)
    h0, w0 = img.shape[:2]
    scale = min(1.0, 256 / max(h0, w0))
    if scale < 1:
        img = cv2.resize(
            img, (max(1, round(w0 * scale)), max(1, round(h0 * scale))),
            interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    dist, raw, noise = _saliency(img)
    seg_boxes, size, colour, blob_boxes = _segments(img, dist, raw, noise)
    area = float(h * w)
    grouped = [
        _group(seg_boxes, size, colour, area, weight, 0.05 * max(h, w), 64)
        for weight in (2.0, 0.0)
    ]
    regions = np.concatenate([seg_boxes.astype(np.float64)] + blob_boxes +
                             grouped).reshape(-1, 4)
    regions = np.concatenate([regions, _split_parts(regions)])
    grid = _grid(h, w)
    keep = clean_proposals(regions, (h, w))
    regions = regions[keep]
    copies = int(
        np.clip(
            (max_proposals - len(regions) - len(grid)) // max(1, len(regions)),
            1, 6))
    extra = np.concatenate([_jitter(regions, copies, rng), grid])
    saliency = np.minimum(dist / max(noise * 16, 1.0), 1.0)
    tiers = []
    for tier, boxes in enumerate((regions, extra)):
        boxes = _clip(boxes, (h, w))
        obj = _objectness(saliency, boxes)
        order = np.argsort(-obj, kind='stable')
        tiers.append((boxes[order], obj[order]))
    boxes = np.concatenate([t[0] for t in tiers])
    obj = np.concatenate([t[1] for t in tiers])
    keep = clean_proposals(boxes, (h, w))[:max_proposals]
    boxes = _clip(boxes[keep] / scale, (h0, w0))
    scores = (np.clip(obj[keep], -1, 1) + 1) / 2
    return boxes.astype(np.float32), scores.astype(np.float32)


def _coco_images(ann_file: str) -> Tuple[List[dict], Dict[int, list]]:
    with open(ann_file) as f:
        coco = json.load(f)
    gts: Dict[int, list] = {}
    for ann in coco.get('annotations', []):
        if not ann.get('iscrowd', 0):
            gts.setdefault(ann['image_id'], []).append(ann['bbox'])
    return coco['images'], gts


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of x1 y1 x2 y2 boxes (no +1 on sides, as mmdet 3)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(min=0), axis=2)
    area_a = np.prod((a[:, 2:] - a[:, :2]).clip(min=0), axis=1)
    area_b = np.prod((b[:, 2:] - b[:, :2]).clip(min=0), axis=1)
    union = area_a[:, None] + area_b[None] - inter
    return inter / np.maximum(union, 1e-9)


def proposal_recall(proposals: Dict[int, dict],
                    ann_file: str,
                    iou: float = 0.5,
                    top_k: Optional[int] = None) -> float:
    """Fraction of the non-crowd ground-truth boxes of a COCO json that
    some proposal of their image covers at IoU >= ``iou``.

    Args:
        proposals (dict): Image id -> ``{'bboxes': (N, 4)}``, e.g. from
            :func:`load_proposals`.
        ann_file (str): COCO annotation json.
        iou (float): IoU threshold. Defaults to 0.5.
        top_k (int, optional): Use only the first ``top_k`` proposals of
            each image.

    Returns:
        float: The recall; nan without ground-truth boxes.
    """
    _, gts = _coco_images(ann_file)
    hit = total = 0
    for image_id, bboxes in gts.items():
        gt = np.asarray(bboxes, np.float64).reshape(-1, 4)
        gt[:, 2:] += gt[:, :2]
        total += len(gt)
        entry = proposals.get(image_id)
        if entry is None or len(entry['bboxes']) == 0:
            continue
        props = np.asarray(entry['bboxes'])[:top_k]
        hit += int((box_iou(gt, props).max(axis=1) >= iou).sum())
    return hit / total if total else float('nan')


def make_toy_proposals(
        data_root: str,
        ann_files: Dict[str, str],
        out_name: str = 'proposals_{split}.npz',
        max_proposals: int = 300,
        seed: int = 0,
        force: bool = False,
        img_dirs: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Make (or reuse) :func:`toy_proposals` for each split of a dataset.

    Proposals go to ``{data_root}/proposals/{out_name}``. A file newer than
    its json that records the same generator version, seed and
    ``max_proposals`` is kept. Each image gets its own random stream
    (``seed``, image id), so results do not depend on the image order.

    Args:
        data_root (str): Dataset root, e.g. ``data/toy``.
        ann_files (dict): Split -> COCO annotation json.
        out_name (str): File name pattern with ``{split}``. Defaults to
            ``'proposals_{split}.npz'``.
        max_proposals (int): Boxes per image at most. Defaults to 300.
        seed (int): Seed of the jitter. Defaults to 0.
        force (bool): Regenerate even when up to date. Defaults to False.
        img_dirs (dict, optional): Split -> image folder; defaults to
            ``{data_root}/{split}`` (the toy dataset's layout).

    Returns:
        dict: Split -> proposal ``.npz`` path.
    """
    from tqdm import tqdm

    out_dir = osp.join(data_root, 'proposals')
    os.makedirs(out_dir, exist_ok=True)
    meta = dict(
        generator='toy_proposals',
        version=TOY_PROPOSALS_VERSION,
        seed=seed,
        max_proposals=max_proposals)
    paths = {}
    # Several processes (one per GPU) may ask at once: one writes, the
    # others wait for the lock and then find the file up to date.
    with open(osp.join(out_dir, '.generate.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for split, ann_file in ann_files.items():
            out = osp.join(out_dir, out_name.format(split=split))
            paths[split] = out
            if not force and _up_to_date(out, ann_file, meta):
                continue
            images, _ = _coco_images(ann_file)
            img_dir = (img_dirs or {}).get(split, osp.join(data_root, split))
            boxes, scores = [], []
            for info in tqdm(images, desc=f'toy proposals ({split})'):
                img_path = osp.join(img_dir, info['file_name'])
                img = cv2.imread(img_path, cv2.IMREAD_COLOR)
                if img is None:
                    raise FileNotFoundError(f'{img_path}: cannot read image '
                                            f'(listed in {ann_file})')
                rng = np.random.default_rng([seed, int(info['id'])])
                b, s = toy_proposals(img[:, :, ::-1], max_proposals, rng)
                boxes.append(b)
                scores.append(s)
            save_proposals(
                out, [info['id'] for info in images],
                boxes,
                scores,
                file_names=[info['file_name'] for info in images],
                meta=meta)
    return paths


def _up_to_date(out: str, ann_file: str, meta: dict) -> bool:
    try:
        if osp.getmtime(out) < osp.getmtime(ann_file):
            return False
        return read_proposal_meta(out) == meta
    except (OSError, ValueError):
        return False
