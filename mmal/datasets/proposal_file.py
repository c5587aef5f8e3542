"""Proposal files: precomputed object proposals for weakly-supervised
detectors.

MIST / WSDDN-style detectors score a fixed set of boxes per image. They are
stored in one uncompressed ``.npz`` per split, read without pickle
(``np.load(..., allow_pickle=False)``)::

    image_ids  int64   (M,)       image ids of the COCO annotation json
    offsets    int64   (M+1,)     boxes of image i are boxes[offsets[i]:
                                  offsets[i+1]]
    boxes      float32 (sum N, 4) x1 y1 x2 y2 in pixels
    scores     float32 (sum N,)   optional objectness
    file_names <U      (M,)       optional image file names
    meta       <U      ()         optional json string (how it was made)

Proposal pickles of other projects are converted by
``tools/dataset_converters/convert_proposals.py``; proposals for your own
images are made by ``tools/misc/generate_proposals.py``.

Example:
    >>> from mmal.datasets import load_proposals
    >>> props = load_proposals('data/toy_weak/proposals/proposals_train.npz')
    >>> props[1]['bboxes'].shape
    (300, 4)
"""
import json
import os.path as osp
import zipfile
from typing import Any, Dict, Optional, Sequence

import numpy as np

from mmal.utils.fileio import atomic_open

REQUIRED_FIELDS = ('image_ids', 'offsets', 'boxes')


def to_box_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a finite float64 (N, 4) array.

    Args:
        value: Boxes, anything ``np.asarray`` takes; an empty input gives a
            (0, 4) array.
        what (str): Names the input in error messages.

    Returns:
        np.ndarray: float64 (N, 4).

    Raises:
        ValueError: Not numeric, not (N, 4) or not finite.
    """
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


def to_score_array(value: Any, num: int, what: str) -> np.ndarray:
    """``value`` as a finite float64 (num,) array (one score per box).

    Args:
        value: Scores, anything ``np.asarray`` takes.
        num (int): The number of boxes they score.
        what (str): Names the input in error messages.

    Returns:
        np.ndarray: float64 (num,).

    Raises:
        ValueError: Not numeric, not ``num`` values or not finite.
    """
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
        to_box_array(b, f'boxes[{i}] (image id {ids[i]})')
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
            to_score_array(s, lengths[i], f'scores[{i}] (image id {ids[i]})')
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
    with atomic_open(path, 'wb') as f:
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
