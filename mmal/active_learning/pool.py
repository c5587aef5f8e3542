"""The image pool of an active-learning run: a COCO annotation file, read
once and validated, with the mapping between COCO category ids and the
contiguous label indices ``[0, C)`` that detectors and strategies use."""
import contextlib
import io
import json
import math
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from pycocotools.coco import COCO

from .image_files import check_image_files


class SplitError(ValueError):
    """Raised when an annotation or split file, or a split derived from the
    config, is not what the loop expects. The message names the file or
    config field and what was expected."""


def read_coco_json(path: str, what: str = 'annotation file') -> dict:
    """Read a COCO json and check its structure (not its content).

    Args:
        path (str): The json file.
        what (str): How to name the file in errors.

    Returns:
        dict: The parsed file with ``images``, ``annotations`` (possibly
        empty) and ``categories``.
    """
    if not osp.isfile(path):
        raise SplitError(f'{what} {path!r} does not exist')
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SplitError(f'{what} {path!r} is not valid json: {e}') from None
    if not isinstance(data, dict):
        raise SplitError(f'{what} {path!r}: expected a COCO json object '
                         f'with "images" and "categories", got '
                         f'{type(data).__name__}')
    for key in ('images', 'categories'):
        if not isinstance(data.get(key), list):
            raise SplitError(f'{what} {path!r}: field "{key}" is missing or '
                             'not a list')
    anns = data.setdefault('annotations', [])
    if not isinstance(anns, list):
        raise SplitError(f'{what} {path!r}: field "annotations" is not a '
                         'list')
    for i, img in enumerate(data['images']):
        for key, types in (('id', int), ('file_name', str),
                           ('width', (int, float)), ('height', (int, float))):
            if not isinstance(img, dict) or not isinstance(
                    img.get(key), types) or isinstance(img.get(key), bool):
                raise SplitError(
                    f'{what} {path!r}: images[{i}] has no valid "{key}" '
                    f'(got {img.get(key) if isinstance(img, dict) else img!r})'
                )
            if key in ('width', 'height') and not (math.isfinite(img[key])
                                                   and img[key] > 0):
                raise SplitError(
                    f'{what} {path!r}: images[{i}] "{key}" must be a '
                    f'positive finite number, got {img[key]!r}')
    for i, cat in enumerate(data['categories']):
        if not isinstance(cat, dict) or not isinstance(
                cat.get('id'), int) or not isinstance(cat.get('name'), str):
            raise SplitError(f'{what} {path!r}: categories[{i}] needs an '
                             'integer "id" and a string "name"')
    return data


def check_annotations(anns: Sequence[dict], images: Dict[int, dict],
                      cat_ids: Iterable[int], where: str) -> None:
    """Check that annotations reference known images and categories and that
    their boxes ``[x, y, w, h]`` lie inside their images (1 px tolerance).

    Args:
        anns (Sequence[dict]): COCO annotations.
        images (dict): Image id -> COCO image record.
        cat_ids (Iterable[int]): The known category ids.
        where (str): The file, for error messages.
    """
    cat_ids = set(cat_ids)
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise SplitError(f'{where}: annotations[{i}] is not an object')
        img = images.get(ann.get('image_id'))
        if img is None:
            raise SplitError(f'{where}: annotations[{i}] refers to image_id '
                             f'{ann.get("image_id")!r}, which is not among '
                             'the images')
        if ann.get('category_id') not in cat_ids:
            raise SplitError(f'{where}: annotations[{i}] has category_id '
                             f'{ann.get("category_id")!r}; known ids are '
                             f'{sorted(cat_ids)}')
        box = ann.get('bbox')
        if (not isinstance(box, (list, tuple)) or len(box) != 4 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) for v in box)):
            raise SplitError(f'{where}: annotations[{i}] needs "bbox" as '
                             f'[x, y, w, h] finite numbers, got {box!r}')
        x, y, w, h = box
        tol = 1.0
        if (w < 0 or h < 0 or x < -tol or y < -tol
                or x + w > img['width'] + tol or y + h > img['height'] + tol):
            raise SplitError(
                f'{where}: annotations[{i}] box {box} (x, y, w, h) is not '
                f'inside image {img["id"]} ({img["width"]}x{img["height"]})')


def index_coco(data: dict) -> COCO:
    """pycocotools' index (``imgToAnns``, ``catToImgs``, ...) of a parsed
    COCO json, without its progress prints."""
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


class Pool:
    """All images an active-learning run may label, from one COCO file.

    Args:
        ann_file (str): COCO annotation file of the whole pool (the
            benchmark's full training annotations, or for a real campaign the
            images with or without annotations).
        classes (Sequence[str], optional): The config's class names, in
            label order. Every name must be a category of ``ann_file``.
            Defaults to all categories in file order.
        img_dir (str, optional): Folder of the images; when given, every
            image file must exist and be an image of the annotated size
            (see :mod:`mmal.active_learning.image_files`).
        progress (bool): A progress bar while a large pool's images are
            checked. Defaults to True.
    """

    def __init__(self,
                 ann_file: str,
                 classes: Optional[Sequence[str]] = None,
                 img_dir: Optional[str] = None,
                 progress: bool = True):
        self.ann_file = ann_file
        self.data = data = read_coco_json(ann_file)
        self.images: Dict[int, dict] = {}
        for img in data['images']:
            if img['id'] in self.images:
                raise SplitError(f'annotation file {ann_file!r}: image id '
                                 f'{img["id"]} appears twice')
            self.images[img['id']] = img
        self.categories: List[dict] = data['categories']
        name_to_cat = {c['name']: c['id'] for c in self.categories}
        if classes is None:
            classes = [c['name'] for c in self.categories]
        missing = [c for c in classes if c not in name_to_cat]
        if missing:
            raise SplitError(
                f'config classes {missing} are not categories of '
                f'{ann_file!r} (it has {sorted(name_to_cat)}); the config '
                'metainfo.classes must name categories of the pool')
        self.classes = tuple(classes)
        self.cat_to_label = {name_to_cat[c]: i for i, c in enumerate(classes)}
        check_annotations(data['annotations'], self.images,
                          name_to_cat.values(),
                          f'annotation file {ann_file!r}')
        self.coco = index_coco(data)
        self.anns_by_image: Dict[int, List[dict]] = {
            i: self.coco.imgToAnns[i]
            for i in self.images
        }
        self.ids = np.array(sorted(self.images), dtype=np.int64)
        if img_dir is not None:
            check_image_files(self.images, img_dir,
                              f'annotation file {ann_file!r}', progress)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def check_ids(self, ids: Iterable[int], where: str) -> np.ndarray:
        """Return ``ids`` as an int64 array after checking that they are
        unique ids of the pool."""
        arr = np.asarray(list(ids), dtype=np.int64)
        unknown = np.setdiff1d(arr, self.ids)
        if unknown.size:
            raise SplitError(f'{where}: image ids {unknown[:5].tolist()} '
                             f'are not in the pool {self.ann_file!r}')
        if np.unique(arr).size != arr.size:
            raise SplitError(f'{where}: image ids repeat')
        return arr

    def has_image_labels(self) -> bool:
        """Whether every image carries image-level labels
        (``image_labels``: COCO category ids)."""
        return all('image_labels' in img for img in self.images.values())

    def gt_labels(self, img_id: int) -> np.ndarray:
        """Label indices of the annotated boxes of an image, (N,)."""
        return np.array([
            self.cat_to_label[a['category_id']]
            for a in self.anns_by_image[img_id]
            if a['category_id'] in self.cat_to_label
        ],
                        dtype=np.int64)

    def image_labels(self, img_id: int) -> np.ndarray:
        """The image's image-level label indices (unique, sorted), from its
        ``image_labels`` field."""
        cats = self.images[img_id].get('image_labels', [])
        return np.unique(
            np.array(
                [self.cat_to_label[c] for c in cats if c in self.cat_to_label],
                dtype=np.int64))

    def subset(self,
               ids: Iterable[int],
               annotations: Optional[Dict[int, List[dict]]] = None) -> dict:
        """A COCO json of the given images.

        Args:
            ids (Iterable[int]): Image ids (pool order is kept).
            annotations (dict, optional): Image id -> annotations to include.
                ``None`` writes an images-only file.

        Returns:
            dict: The COCO json, with the pool file's ``info``, ``licenses``
            and ``categories``.
        """
        ids = sorted(set(int(i) for i in ids))
        out = {
            k: v
            for k, v in self.data.items() if k not in ('images', 'annotations')
        }
        out['images'] = [self.images[i] for i in ids]
        out['annotations'] = [] if annotations is None else [
            a for i in ids for a in annotations.get(i, [])
        ]
        return out

    def image_path(self, img_dir: str, img_id: int) -> str:
        return os.path.join(img_dir, self.images[img_id]['file_name'])
