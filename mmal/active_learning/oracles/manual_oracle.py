import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmal.registry import ORACLES
from mmal.utils.fileio import atomic_write_json, atomic_write_text
from ..pool import SplitError, check_annotations, read_coco_json
from ..work_dir import CycleDir
from .base_oracle import AnnotationRequired, BaseOracle


@ORACLES.register_module()
class ManualOracle(BaseOracle):
    """Oracle for a real annotation campaign.

    On the first call for a set of images it writes, in the cycle folder,
    ``to_annotate.json`` (COCO json of the images, with the pool's
    categories and no annotations) and ``to_annotate.txt`` (one image path
    per line), then stops the loop with a message. Annotate the images with
    any COCO tool, save the result as ``annotated.json`` in the same folder
    and re-run the same command: the file is checked (exactly the requested
    images, known categories, boxes inside the images) and the loop goes on.

    Args:
        pool (Pool): The run's pool.
        img_dir (str): Image folder, for the paths in ``to_annotate.txt``.
        answer_name (str): File name of the annotated json.
            Defaults to ``'annotated.json'``.
    """

    def __init__(self,
                 pool,
                 img_dir: Optional[str] = None,
                 answer_name: str = CycleDir.ANNOTATED):
        super().__init__(pool, img_dir or '')
        self.answer_name = answer_name

    def reveal(self, image_ids: Sequence[int],
               request_dir: str) -> Dict[int, List[dict]]:
        ids = sorted(int(i) for i in image_ids)
        answer = CycleDir(request_dir).file(self.answer_name)
        if not osp.exists(answer):
            self._request(ids, request_dir, answer)
        return self._read_answer(ids, answer)

    def _request(self, ids: List[int], request_dir: str, answer: str):
        files = CycleDir(request_dir)
        request = files.to_annotate
        atomic_write_json(self.pool.subset(ids), request, indent=1)
        paths = [self.pool.image_path(self.img_dir, i) for i in ids]
        atomic_write_text('\n'.join(paths) + '\n', files.to_annotate_list)
        raise AnnotationRequired(
            f'{len(ids)} images need annotating: they are listed in '
            f'{request} (COCO, no annotations) and '
            f'{files.to_annotate_list}. Save their COCO '
            f'annotations (same image ids, the categories of {request}) as '
            f'{answer} and re-run the same command.')

    def _read_answer(self, ids: List[int], answer: str):
        data = read_coco_json(answer, 'annotated file')
        got = sorted(img['id'] for img in data['images'])
        if got != ids:
            missing = sorted(set(ids) - set(got))
            extra = sorted(set(got) - set(ids))
            raise SplitError(
                f'annotated file {answer!r} must hold exactly the requested '
                f'images; missing ids {missing[:10]}, unexpected ids '
                f'{extra[:10]}')
        # The annotator's category ids must mean what the pool's mean.
        pool_cats = {c['id']: c['name'] for c in self.pool.categories}
        for cat in data['categories']:
            if pool_cats.get(cat['id']) != cat['name']:
                raise SplitError(
                    f'annotated file {answer!r}: category {cat["id"]} '
                    f'{cat["name"]!r} is not category {cat["id"]} of the '
                    f'pool ({pool_cats.get(cat["id"])!r}); keep the '
                    'categories of to_annotate.json')
        # against the requested images: a box on another pool image is an
        # error, not a KeyError
        check_annotations(data['annotations'],
                          {i: self.pool.images[i]
                           for i in ids}, pool_cats.keys(),
                          f'annotated file {answer!r}')
        out: Dict[int, List[dict]] = {i: [] for i in ids}
        for ann in data['annotations']:
            ann = dict(ann)
            ann.setdefault('iscrowd', 0)
            ann.setdefault('area', float(ann['bbox'][2] * ann['bbox'][3]))
            out[ann['image_id']].append(ann)
        return out
