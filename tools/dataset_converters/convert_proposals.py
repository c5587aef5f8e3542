"""Convert a wetectron / Detectron / BiB / mmdet proposal pickle to mmal's
proposal ``.npz`` (:mod:`mmal.datasets.proposal_file`) for the images of a
COCO annotation json or of a VOC image set.

The pickle is read with an unpickler that only rebuilds numpy arrays
(:class:`mmal.utils.safe_unpickler.NumpyOnlyUnpickler`), so a crafted file
cannot run code.

Example:
    python tools/dataset_converters/convert_proposals.py \\
        proposals/SS-voc_2007_trainval.pkl \\
        data/VOC2007/annotations/voc_2007_trainval.json \\
        data/VOC2007/proposals/proposals_trainval.npz
"""
import argparse
import json
import os.path as osp
import pickle
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from mmal.datasets.proposal_file import (save_proposals, to_box_array,
                                         to_score_array)
from mmal.datasets.transforms.proposal_transforms import apply_clean
from mmal.utils.safe_unpickler import NumpyOnlyUnpickler


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
    :class:`~mmal.utils.safe_unpickler.NumpyOnlyUnpickler`); py2 pickles
    are read with ``encoding='latin1'``. Accepted layouts:

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
            obj = NumpyOnlyUnpickler(f, path).load()
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
            to_box_array(b, f'{path}: boxes[{i}]')
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
                to_score_array(s, len(b), f'{path}: scores[{i}]')
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
            to_box_array(v['bboxes'], f'{path}: {k!r}.bboxes')
            for k, v in obj.items()
        ]
        with_scores = [v.get('scores') is not None for v in obj.values()]
        scores = None
        if all(with_scores):
            scores = [
                to_score_array(v['scores'], len(b), f'{path}: {k!r}.scores')
                for (k, v), b in zip(obj.items(), boxes)
            ]
        return dict(ids=None, file_keys=keys, boxes=boxes, scores=scores)
    raise ValueError(f'{path}: unrecognised layout: expected key boxes (with '
                     f'indexes or ids) or a dict of file key -> dict with '
                     f'bboxes; keys: {sorted(map(str, obj))[:10]}')


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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a proposal pickle to a proposal .npz.')
    parser.add_argument('pkl', help='proposal pickle')
    parser.add_argument(
        'ann_file',
        help='the COCO annotation json the dataset reads (e.g. mmdet-'
        'converted '
        'voc07_trainval.json), or a VOC image set .txt for WeakVOCDataset '
        '(ids are the integer file stems, sizes from Annotations/*.xml)')
    parser.add_argument('out', help='output proposal file (.npz)')
    parser.add_argument(
        '--box-order',
        choices=['xyxy', 'yxyx'],
        default='xyxy',
        help='coordinate order in the pickle (raw Selective Search .mat '
        'files are yxyx)')
    parser.add_argument(
        '--one-based',
        action='store_true',
        help='subtract 1 from every coordinate (MATLAB boxes)')
    parser.add_argument(
        '--min-size',
        type=float,
        default=2,
        help='drop boxes with a side below this (pixels)')
    parser.add_argument(
        '--allow-missing',
        action='store_true',
        help='write json images without proposals with no boxes instead of '
        'failing')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = convert_proposal_pickle(
        args.pkl,
        args.ann_file,
        args.out,
        box_order=args.box_order,
        one_based=args.one_based,
        min_size=args.min_size,
        allow_missing=args.allow_missing)
    print(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
