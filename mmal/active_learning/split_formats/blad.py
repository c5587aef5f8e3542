"""BLAD / ComPAS's splits (lyumengyao/blad, "acdet", CVPR 2023).

Layout of a run (``dist_run.sh``: ``work_dirs/<run>/step_<i>``,
``acdet/mining/mining.py``, function ``mining``)::

    step_<i>/labeled.json          step i trains on it
    step_<i>/unlabeled.json
    step_<i>/new_added_data.json   the images step i's mining added (i >= 1)

mmal's cycle ``k`` is BLAD's step ``k``.

How BLAD writes them (``acdet/mining/datasets/coco.py``, ``coco_load`` /
``coco_save``; ``mining``):

- ``{'categories': ...}`` then ``images`` then ``annotations``, with
  ``json.dumps(...)`` (Python's defaults);
- ``coco_load`` keeps only images with at least one annotation (that is not
  ``is_pseudo_label``) and, when boxes are the budget unit (``--count-box``,
  the default ``QUERY_UNIT=box`` of ``dist_run.sh``), at least one box it
  counts (not ``iscrowd``, image sides >= 32);
- labeled files set ``"islabeled": true`` on every annotation; unlabeled
  files set ``"partial": false`` on every image and ``"islabeled": false``
  on every annotation; ``new_added_data.json`` holds the picks as they were
  in the previous unlabeled file;
- the labeled file of step i lists the picks (in the order of the mining's
  sort, i.e. pick order) before the previous labeled images; unlabeled
  images are listed in the order of the mining's sort by score, which only
  BLAD knows.
"""
import os.path as osp
from typing import List, Optional

from mmal.registry import SPLIT_FORMATS
from ..pool import Pool
from .split_format import (BaseSplitFormat, NameMatcher, RecordedCycle,
                           SplitHistory, coco_file_names, dump_like_python,
                           picks_from_growth, write_files)


@SPLIT_FORMATS.register_module(name=['blad', 'compas', 'BLADSplits'])
class BLADSplits(BaseSplitFormat):
    """BLAD / ComPAS's per-step COCO files (see the module docstring).

    Args:
        count_box (bool): Whether the run counted boxes (``--count-box``):
            images without a counted box are left out of the unlabeled
            file, as BLAD's ``coco_load`` does. Defaults to True.
    """

    name = 'BLAD'
    LABELED = 'labeled.json'
    UNLABELED = 'unlabeled.json'
    ADDED = 'new_added_data.json'

    def __init__(self, count_box: bool = True):
        self.count_box = bool(count_box)

    def cycle_file(self, source: str, k: int) -> str:
        return osp.join(source, f'step_{k}', self.LABELED)

    def read_cycle(self,
                   source: str,
                   k: int,
                   prev: Optional[RecordedCycle] = None) -> RecordedCycle:
        path = self.cycle_file(source, k)
        folder = osp.dirname(path)
        labeled = coco_file_names(path, 'BLAD labeled file')
        added = osp.join(folder, self.ADDED)
        if k and osp.exists(added):
            picks = coco_file_names(added, 'BLAD new_added_data file')
        else:
            picks = picks_from_growth(prev.labeled, labeled) if prev else None
        unl = osp.join(folder, self.UNLABELED)
        unlabeled = (
            coco_file_names(unl, 'BLAD unlabeled file')
            if osp.exists(unl) else None)
        return RecordedCycle(labeled, picks, unlabeled, path)

    def read_file(self, path: str) -> RecordedCycle:
        return RecordedCycle(
            coco_file_names(path, 'BLAD labeled file'), file=path)

    def _loaded(self, pool: Pool, img_id: int) -> bool:
        """Whether BLAD's ``coco_load`` keeps the image."""
        anns = [
            a for a in pool.anns_by_image[img_id]
            if not a.get('is_pseudo_label', False)
        ]
        if not anns:
            return False
        if not self.count_box:
            return True
        img = pool.images[img_id]
        small = min(img['width'], img['height']) < 32
        return not small and any(not a.get('iscrowd') for a in anns)

    def write(self, history: SplitHistory, pool: Pool,
              out_dir: str) -> List[str]:
        matcher = NameMatcher.of_pool(pool)
        orders = self._labeled_orders(history, matcher, newest_first=True)
        first = set(orders[min(history)])
        cats = pool.categories

        def anns(i, labeled):
            return [
                dict(a, islabeled=labeled) for a in pool.anns_by_image[i]
                if not a.get('is_pseudo_label', False)
            ]

        def image(i, partial):
            img = pool.images[i]
            return dict(img, partial=False) if partial else img

        def dump(ids, labeled):
            return dump_like_python(
                dict(
                    categories=cats,
                    images=[
                        image(i, not labeled or i not in first) for i in ids
                    ],
                    annotations=[a for i in ids for a in anns(i, labeled)]))

        files = {}
        for k in sorted(history):
            rec, order = history[k], orders[k]
            folder = osp.join(out_dir, f'step_{k}')
            if rec.unlabeled is not None:
                unl = matcher.ids(rec.unlabeled, rec.file).tolist()
            else:
                labeled = set(order)
                unl = [
                    img['id'] for img in pool.data['images'] if
                    img['id'] not in labeled and self._loaded(pool, img['id'])
                ]
            if rec.picks is not None and k > min(history):
                picks = matcher.ids(rec.picks, rec.file).tolist()
                files[osp.join(folder, self.ADDED)] = dump(picks, False)
            files[osp.join(folder, self.LABELED)] = dump(order, True)
            files[osp.join(folder, self.UNLABELED)] = dump(unl, False)
        return write_files(files)
