"""Per-cycle split files.

``<work_dir>/cycle_<k>/`` holds the split cycle ``k`` trains on:

- ``labeled.json``: COCO subset of the pool with the annotations revealed so
  far (any mmdet config trains on it unchanged);
- ``unlabeled.json``: the other pool images, without annotations (with
  ``image_labels`` when the pool has them);
- ``selected.json``: the images acquired for this cycle, with their scores,
  the strategy config, seed, checkpoint path and sha256, and the time.

``<work_dir>/label_map.json`` records for every pool image the cycle in which
it was labeled (``null`` while unlabeled). Every file is written atomically;
``labeled.json`` is written last and marks the split complete.
"""
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from mmal.strategies import SelectionContext
from mmal.utils.fileio import atomic_write_json
from .pool import Pool, SplitError, check_annotations, read_coco_json
from .work_dir import CycleDir, WorkDir, read_record


@dataclass
class CycleSplit:
    """A validated split: sorted labeled / unlabeled ids and the labeled
    images' annotations (image id -> COCO annotations)."""
    labeled_ids: np.ndarray
    unlabeled_ids: np.ndarray
    annotations: Dict[int, List[dict]]

    def num_boxes(self) -> int:
        return sum(len(a) for a in self.annotations.values())


def write_split(cdir: str, pool: Pool,
                annotations: Dict[int, List[dict]]) -> CycleSplit:
    """Write ``unlabeled.json`` then ``labeled.json`` for the labeled images
    ``annotations`` (image id -> annotations) of ``pool``."""
    labeled = pool.check_ids(annotations, f'labeled set of {cdir}')
    unlabeled = np.setdiff1d(pool.ids, labeled)
    files = CycleDir(cdir)
    atomic_write_json(pool.subset(unlabeled), files.unlabeled)
    atomic_write_json(pool.subset(labeled, annotations), files.labeled)
    return CycleSplit(np.sort(labeled), unlabeled, annotations)


def read_split(cdir: str, pool: Pool) -> CycleSplit:
    """Read and validate the split of a cycle folder: both files parse,
    their ids are pool ids, labeled and unlabeled are disjoint and together
    are the pool, annotations refer to labeled images and known categories.
    """
    files = CycleDir(cdir)
    lab_file, unl_file = files.labeled, files.unlabeled
    lab = read_coco_json(lab_file, 'split file')
    unl = read_coco_json(unl_file, 'split file')
    lab_ids = pool.check_ids([i['id'] for i in lab['images']], lab_file)
    unl_ids = pool.check_ids([i['id'] for i in unl['images']], unl_file)
    both = np.intersect1d(lab_ids, unl_ids)
    if both.size:
        raise SplitError(f'{cdir}: images {both[:5].tolist()} are both in '
                         f'{files.LABELED} and {files.UNLABELED}')
    if lab_ids.size + unl_ids.size != len(pool):
        lost = np.setdiff1d(pool.ids, np.union1d(lab_ids, unl_ids))
        raise SplitError(
            f'{cdir}: {files.LABELED} + {files.UNLABELED} miss pool '
            f'images {lost[:5].tolist()} ({lost.size} in all)')
    anns = _annotations_by_image(lab, lab_ids, pool, lab_file)
    return CycleSplit(np.sort(lab_ids), np.sort(unl_ids), anns)


def check_growth(prev: CycleSplit,
                 cur: CycleSplit,
                 selected: np.ndarray,
                 budget: int,
                 where: str,
                 labeled: Optional[np.ndarray] = None) -> None:
    """Check that ``cur`` is ``prev`` plus exactly the ``labeled`` images
    (default: all ``selected``; an oracle accepting a partial campaign
    labels some of them), and that ``selected`` has ``min(budget,
    unlabeled)`` images."""
    want = min(budget, prev.unlabeled_ids.size)
    if selected.size != want:
        raise SplitError(f'{where}: {selected.size} images were selected; '
                         f'the budget is {budget} with '
                         f'{prev.unlabeled_ids.size} unlabeled')
    if labeled is None:
        labeled = selected
    elif np.setdiff1d(labeled, selected).size:
        raise SplitError(f'{where}: the oracle labeled images that were '
                         'not selected')
    expect = np.union1d(prev.labeled_ids, labeled)
    if not np.array_equal(expect, cur.labeled_ids):
        raise SplitError(f'{where}: the labeled set is not the previous '
                         'cycle\'s labeled set plus the selected images')


def selection_context(split: CycleSplit, pool: Pool,
                      cycle: int) -> SelectionContext:
    """What a strategy may know about the labeled set of ``split``."""
    c = pool.num_classes
    boxes = np.zeros(c, np.int64)
    images = np.zeros(c, np.int64)
    for anns in split.annotations.values():
        labels = [
            pool.cat_to_label[a['category_id']] for a in anns
            if a['category_id'] in pool.cat_to_label
        ]
        if labels:
            np.add.at(boxes, labels, 1)
            images[np.unique(labels)] += 1
    return SelectionContext(
        labeled_ids=split.labeled_ids.copy(),
        class_counts=boxes,
        class_image_counts=images,
        num_classes=c,
        cycle=cycle)


def update_label_map(work_dir: str, pool: Pool, previous: np.ndarray,
                     added: np.ndarray,
                     cycle: int) -> Dict[str, Optional[int]]:
    """Record in ``<work_dir>/label_map.json`` that the ``added`` images were
    labeled in ``cycle``. The map holds every pool image (``null`` while
    unlabeled) and its file name; ``previous`` (the labeled set before)
    must already be recorded when the map exists."""
    path = WorkDir(work_dir).label_map
    if osp.exists(path):
        cycle_of = read_record(path, ['labeled_in_cycle'])['labeled_in_cycle']
    else:
        # A split made elsewhere (tools/acquire.py on a user's folder): its
        # labeled images are recorded as labeled by the previous cycle.
        cycle_of = dict.fromkeys((str(i) for i in pool.ids.tolist()))
        cycle_of.update({str(i): max(cycle - 1, 0) for i in previous})
    unrecorded = [int(i) for i in previous if cycle_of.get(str(i)) is None]
    if unrecorded:
        raise SplitError(f'{path}: labeled images {unrecorded[:5]} have no '
                         'cycle recorded')
    for i in added.tolist():
        if cycle_of.get(str(i)) in (None, cycle):
            cycle_of[str(i)] = cycle
        else:
            raise SplitError(f'{path}: image {i} was already labeled in '
                             f'cycle {cycle_of[str(i)]}')
    out = {
        'pool': pool.ann_file,
        'labeled_in_cycle': cycle_of,
        'file_names': {
            str(i): pool.images[i]['file_name']
            for i in pool.ids.tolist()
        },
    }
    atomic_write_json(out, path)
    return cycle_of


def read_selected(path: str) -> np.ndarray:
    """The image ids of a ``selected.json``."""
    try:
        with open(path) as f:
            ids = json.load(f)['image_ids']
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SplitError(f'{path}: not a valid selected.json ({e})') from None
    return np.asarray(ids, dtype=np.int64).reshape(-1)


def read_initial_split_file(path: str, pool: Pool) -> Dict[int, List[dict]]:
    """Read a user's initial labeled set (a COCO json: its images are the
    labeled images, its annotations theirs)."""
    data = read_coco_json(path, 'initial split file (al.initial.split_file)')
    ids = pool.check_ids([i['id'] for i in data['images']], path)
    for img in data['images']:
        ref = pool.images[img['id']]
        if img['file_name'] != ref['file_name']:
            raise SplitError(
                f'initial split file {path!r}: image {img["id"]} is '
                f'{img["file_name"]!r} but {ref["file_name"]!r} in the pool')
    return _annotations_by_image(data, ids, pool, path)


def read_initial_split(
        initial: dict,
        pool: Pool) -> Tuple[np.ndarray, Optional[Dict[int, List[dict]]]]:
    """The initial labeled images of ``al.initial=dict(split_file=...)``.

    Without ``format`` the file is a COCO json of the labeled images with
    their annotations (:func:`read_initial_split_file`); the ids come back
    sorted. With ``format`` (a registered split format of another codebase,
    see :mod:`mmal.active_learning.split_formats`, its options beside it)
    ``split_file`` is that codebase's labeled file of its first round, or
    its run folder (whose cycle 0 is taken); its file names are matched to
    the pool, the ids come back in the file's order and the annotations
    are None (the oracle reveals them).

    Returns:
        tuple: ids (L,) and annotations (image id -> annotations) or None.
    """
    opts = dict(initial)
    path = opts.pop('split_file')
    fmt = opts.pop('format', None)
    if fmt is None:
        anns = read_initial_split_file(path, pool)
        return np.array(sorted(anns), np.int64), anns
    from .split_formats import NameMatcher, build_split_format
    history = build_split_format(dict(type=fmt, **opts)).read(path)
    if 0 not in history:
        raise SplitError(f'al.initial.split_file {path!r} ({fmt}) holds no '
                         f'initial split (cycle 0); cycles found: '
                         f'{sorted(history)}')
    rec = history[0]
    ids = NameMatcher.of_pool(pool).ids(
        rec.labeled, f'initial split file (al.initial.split_file, {fmt}) '
        f'{rec.file!r}')
    return ids, None


def _annotations_by_image(data: dict, ids: np.ndarray, pool: Pool,
                          where: str) -> Dict[int, List[dict]]:
    """Check a labeled file's annotations against its images ``ids`` and
    the pool's categories; group them by image."""
    check_annotations(data['annotations'],
                      {i: pool.images[i]
                       for i in ids.tolist()},
                      [c['id'] for c in pool.categories], where)
    anns: Dict[int, List[dict]] = {int(i): [] for i in ids}
    for a in data['annotations']:
        anns[a['image_id']].append(a)
    return anns
