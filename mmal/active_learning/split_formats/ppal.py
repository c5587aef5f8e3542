"""PPAL's splits (ChenhongyiYang/PPAL, CVPR 2024).

Layout of a PPAL run's ``output_dir`` (``tools/run_al_voc.py`` /
``run_al_coco.py``, function ``run``)::

    round<r>/annotations/labeled.json        round r trains on it (r >= 1)
    round<r>/annotations/unlabeled.json
    round<r>/annotations/new_labeled.json    after round r's acquisition;
    round<r>/annotations/new_unlabeled.json  copied to round<r+1>/.../

Round 1's files are copies (``cp``) of the initial split
``<dataset>_<n>_labeled_<i>.json`` / ``_unlabeled_<i>.json`` that
``tools/al_data/create_al_dataset.py`` wrote. mmal's cycle ``k`` is PPAL's
round ``k + 1``.

How PPAL writes them (read in its code):

- initial split (``generate_active_learning_dataset``): ``dict(categories,
  images, annotations)``; the images in the order of a random permutation;
  the labeled file's annotations are the oracle file's, in its order, of
  the labeled images and PPAL's classes; the unlabeled file has
  ``annotations=[]``;
- after an acquisition (``BaseALSampler.create_jsons``): labeled
  ``dict(images, annotations, categories)``, the previous labeled images in
  their order then the picks in pick order, each image followed by its
  oracle annotations of PPAL's classes; unlabeled ``dict(images,
  categories)`` (no ``annotations`` key), the oracle's image order;
- every file with ``json.dump(data, f)`` (Python's defaults), image and
  annotation records as in the oracle file.
"""
import os.path as osp
from typing import List, Optional, Sequence

from mmal.registry import SPLIT_FORMATS
from ..pool import Pool
from .split_format import (BaseSplitFormat, NameMatcher, RecordedCycle,
                           SplitHistory, coco_file_names, dump_like_python,
                           picks_from_growth, write_files)


@SPLIT_FORMATS.register_module(name=['ppal', 'PPALSplits'])
class PPALSplits(BaseSplitFormat):
    """PPAL's per-round COCO files (see the module docstring).

    Args:
        classes (Sequence[str], optional): PPAL's class list, whose
            annotations its files keep. Defaults to the pool's classes (the
            config's ``metainfo.classes``).
    """

    name = 'PPAL'

    def __init__(self, classes: Optional[Sequence[str]] = None):
        self.classes = None if classes is None else tuple(classes)

    @staticmethod
    def _ann(source, r, name):
        return osp.join(source, f'round{r}', 'annotations', name)

    def cycle_file(self, source: str, k: int) -> str:
        path = self._ann(source, k + 1, 'labeled.json')
        after = self._ann(source, k, 'new_labeled.json')
        return after if k and not osp.exists(path) and osp.exists(
            after) else path

    def read_cycle(self,
                   source: str,
                   k: int,
                   prev: Optional[RecordedCycle] = None) -> RecordedCycle:
        path = self.cycle_file(source, k)
        labeled = coco_file_names(path, 'PPAL labeled file')
        unl = path.replace('labeled.json', 'unlabeled.json')
        unlabeled = (
            coco_file_names(unl, 'PPAL unlabeled file')
            if osp.exists(unl) else None)
        picks = picks_from_growth(prev.labeled, labeled) if prev else None
        return RecordedCycle(labeled, picks, unlabeled, path)

    def read_file(self, path: str) -> RecordedCycle:
        return RecordedCycle(
            coco_file_names(path, 'PPAL labeled file'), file=path)

    def write(self, history: SplitHistory, pool: Pool,
              out_dir: str) -> List[str]:
        matcher = NameMatcher.of_pool(pool)
        orders = self._labeled_orders(history, matcher)
        keep = set(self.classes or pool.classes)
        cats = pool.categories
        valid = {c['id'] for c in cats if c['name'] in keep}
        files = {}
        for k in sorted(history):
            rec, order = history[k], orders[k]
            labeled = set(order)
            if rec.unlabeled is not None:
                unl = matcher.ids(rec.unlabeled, rec.file).tolist()
            else:
                unl = [
                    img['id'] for img in pool.data['images']
                    if img['id'] not in labeled
                ]
            images = [pool.images[i] for i in order]
            unl_images = [pool.images[i] for i in unl]
            if k == min(history) and rec.picks is None:
                # create_al_dataset.py: annotations in the oracle's order
                anns = [
                    a for a in pool.data['annotations']
                    if a['category_id'] in valid and a['image_id'] in labeled
                ]
                lab = dump_like_python(
                    dict(categories=cats, images=images, annotations=anns))
                unl_text = dump_like_python(
                    dict(categories=cats, images=unl_images, annotations=[]))
            else:
                # create_jsons: each image followed by its annotations
                anns = [
                    a for i in order for a in pool.anns_by_image[i]
                    if a['category_id'] in valid
                ]
                lab = dump_like_python(
                    dict(images=images, annotations=anns, categories=cats))
                unl_text = dump_like_python(
                    dict(images=unl_images, categories=cats))
                files[self._ann(out_dir, k, 'new_labeled.json')] = lab
                files[self._ann(out_dir, k, 'new_unlabeled.json')] = unl_text
            files[self._ann(out_dir, k + 1, 'labeled.json')] = lab
            files[self._ann(out_dir, k + 1, 'unlabeled.json')] = unl_text
        return write_files(files)
