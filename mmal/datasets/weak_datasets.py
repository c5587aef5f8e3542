"""COCO and VOC datasets for weakly-supervised detection: image-level
labels, fully-annotated flags and proposals that load without pickle.

Every image's data info gains:

* ``image_labels``: the sorted class indices present in the image, from its
  annotations (COCO: non-crowd boxes; VOC: non-difficult objects, whatever
  their size: mmdet's ``bbox_min_size`` marks small boxes ignored, which
  must not drop their class), or from an ``image_labels`` list of category
  ids on the COCO image record when the dataset has no boxes.
* ``fully_annotated``: whether training may use its boxes. Weak images'
  boxes are never used for training.

Proposals come through mmdet's ``proposal_file`` argument, in mmal's
``.npz`` format (:mod:`mmal.datasets.proposal_file`, keyed by image id);
mmdet's own pickle format is refused (use
``tools/dataset_converters/convert_proposals.py``).
"""
import os.path as osp
from typing import List, Optional

import numpy as np
from mmdet.datasets import CocoDataset, VOCDataset
from mmengine.fileio import load

from mmal.registry import DATASETS


def _image_key(img_id) -> int:
    try:
        return int(img_id)
    except (TypeError, ValueError):
        raise ValueError(f'image id {img_id!r} is not an integer: proposal '
                         'files key images by integer id') from None


class WeakSupervisionMixin:
    """Adds image-level labels, fully-annotated flags and npz proposals.

    Args:
        strong_ann_file (str, optional): A COCO json whose images (by id;
            VOC ids are the integer file stems) are fully annotated, e.g. an
            active-learning cycle's labeled split. Defaults to None.
        strong_fraction (float): Flag this fraction of the images fully
            annotated, chosen with ``strong_seed`` (for experiments).
            Defaults to 0.
        strong_seed (int): Seed of that choice. Defaults to 0.
    """

    def __init__(self,
                 *args,
                 strong_ann_file: Optional[str] = None,
                 strong_fraction: float = 0.0,
                 strong_seed: int = 0,
                 **kwargs):
        self._init_weak(strong_ann_file, strong_fraction, strong_seed)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        return self._flag_fully_annotated(super().load_data_list())

    @staticmethod
    def configure_al_training(ds_cfg, pool_ann_file: str,
                              labeled_file: str) -> None:
        """How an active-learning cycle trains on this dataset (asked by the
        loop, see :func:`mmal.active_learning.dataset_cfg.
        configure_training_set`): on the whole pool with its image-level
        labels, the labeled split's images fully annotated."""
        ds_cfg.ann_file = pool_ann_file
        ds_cfg.strong_ann_file = labeled_file
        ds_cfg.pop('strong_fraction', None)

    def _init_weak(self, strong_ann_file: Optional[str],
                   strong_fraction: float, strong_seed: int) -> None:
        if not 0.0 <= strong_fraction <= 1.0:
            raise ValueError(
                f'strong_fraction must be in [0, 1], got {strong_fraction}')
        if strong_ann_file and strong_fraction:
            raise ValueError('give strong_ann_file or strong_fraction, not '
                             'both')
        self.strong_ann_file = strong_ann_file
        self.strong_fraction = strong_fraction
        self.strong_seed = strong_seed

    def _flag_fully_annotated(self, data_list: List[dict]) -> List[dict]:
        strong = set()
        if self.strong_ann_file:
            path = self.strong_ann_file
            if not osp.isabs(path) and self.data_root:
                path = osp.join(self.data_root, path)
            try:
                images = load(path)['images']
            except (OSError, KeyError, TypeError, ValueError) as e:
                raise ValueError(f'strong_ann_file {path}: expected a COCO '
                                 f"json with an 'images' list ({e})") from e
            strong = {_image_key(img['id']) for img in images}
            known = {_image_key(d['img_id']) for d in data_list}
            unknown = sorted(strong - known)
            if unknown:
                raise ValueError(
                    f'strong_ann_file {path}: {len(unknown)} image ids are '
                    f'not in the dataset, e.g. {unknown[:5]}')
        elif self.strong_fraction:
            rng = np.random.default_rng(self.strong_seed)
            count = int(round(self.strong_fraction * len(data_list)))
            picked = rng.choice(len(data_list), count, replace=False)
            strong = {_image_key(data_list[i]['img_id']) for i in picked}
        for info in data_list:
            info['fully_annotated'] = _image_key(info['img_id']) in strong
        boxless = [
            info['img_id'] for info in data_list
            if info['fully_annotated'] and info.get('image_labels')
            and not any(not inst.get('ignore_flag', 0)
                        for inst in info.get('instances', []))
        ]
        if boxless:
            raise ValueError(
                f'{self.ann_file}: {len(boxless)} images flagged fully '
                'annotated have image-level labels but no boxes in this '
                f'file, e.g. image ids {boxless[:5]}; their boxes must be in '
                'the ann_file (they would train as all background)')
        return data_list

    def load_proposals(self) -> None:
        """Attach each image's proposals from an mmal ``.npz`` file."""
        from mmal.datasets.proposal_file import load_proposals
        path = self.proposal_file
        if not osp.isabs(path) and self.data_root:
            path = osp.join(self.data_root, path)
        if not path.endswith('.npz'):
            raise ValueError(
                f'proposal_file {path}: expected an mmal .npz proposal file '
                '(pickles are not loaded; convert with '
                'tools/dataset_converters/convert_proposals.py)')
        proposals = load_proposals(path)
        missing = [
            d['img_id'] for d in self.data_list
            if _image_key(d['img_id']) not in proposals
        ]
        if missing:
            raise ValueError(
                f'proposal_file {path}: no proposals for {len(missing)} of '
                f'{len(self.data_list)} images of {self.ann_file}, e.g. '
                f'image ids {missing[:5]}')
        for info in self.data_list:
            info['proposals'] = proposals[_image_key(info['img_id'])]

    @staticmethod
    def _labels_from_instances(instances: List[dict],
                               skip: str = 'ignore_flag') -> List[int]:
        """Classes of the instances whose ``skip`` flag is not set."""
        return sorted({
            int(inst['bbox_label'])
            for inst in instances if not inst.get(skip, False)
        })


@DATASETS.register_module()
class WeakCocoDataset(WeakSupervisionMixin, CocoDataset):
    """mmdet's ``CocoDataset`` with image-level labels, fully-annotated
    flags and npz proposals (see :class:`WeakSupervisionMixin`)."""

    def parse_data_info(self, raw_data_info: dict) -> dict:
        info = super().parse_data_info(raw_data_info)
        img = raw_data_info['raw_img_info']
        if img.get('image_labels') is not None:
            unknown = [
                c for c in img['image_labels'] if c not in self.cat2label
            ]
            if unknown:
                raise ValueError(
                    f'{self.ann_file}: image {img["id"]} has image_labels '
                    f'{unknown} that are not category ids of the dataset')
            info['image_labels'] = sorted(
                {self.cat2label[c]
                 for c in img['image_labels']})
        else:
            info['image_labels'] = self._labels_from_instances(
                info['instances'])
        return info


@DATASETS.register_module()
class WeakVOCDataset(WeakSupervisionMixin, VOCDataset):
    """mmdet's ``VOCDataset`` with image-level labels (difficult objects
    excluded, small ones kept), fully-annotated flags and npz proposals."""

    def _parse_instance_info(self, raw_ann_info, minus_one: bool = True):
        instances = super()._parse_instance_info(raw_ann_info, minus_one)
        objects = [
            obj for obj in raw_ann_info.findall('object')
            if obj.find('name').text in self._metainfo['classes']
        ]
        for inst, obj in zip(instances, objects):
            flag = obj.find('difficult')
            inst['difficult'] = bool(int(flag.text)) if flag is not None \
                else False
        return instances

    def parse_data_info(self, img_info: dict) -> dict:
        info = super().parse_data_info(img_info)
        info['image_labels'] = self._labels_from_instances(
            info.get('instances', []), skip='difficult')
        return info
