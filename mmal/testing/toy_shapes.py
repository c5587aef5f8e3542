"""A synthetic detection dataset of coloured shapes, generated from a seed.

The toy dataset is the default data of mmal's demo and tests: it is written
in COCO format (json + PNG images) so the real loaders run on it, it takes
seconds to make, and its knobs reproduce the situations active-learning
detection cares about: class imbalance (a long tail), cluttered backgrounds,
occlusion, small objects, and groups of touching same-class objects (where a
weak detector boxes the whole group or a single part). Every image also
records its image-level labels (``image_labels``: the category ids present).

Example:
    >>> from mmal.testing import make_toy_benchmark
    >>> paths = make_toy_benchmark('data/toy', num_train=200, num_val=50)
"""
import dataclasses
import json
import os
import os.path as osp
import zlib
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmal.utils.file_lock import file_lock
from mmal.utils.fileio import atomic_write_json
from .toy_proposals import make_toy_proposals

SHAPES = ('square', 'circle', 'triangle', 'cross', 'diamond', 'ring')
COLOURS = {
    'red': (220, 40, 40),
    'green': (40, 180, 60),
    'blue': (50, 80, 230),
    'yellow': (230, 210, 40),
    'magenta': (200, 50, 200),
    'cyan': (40, 200, 210),
    'orange': (245, 140, 30),
    'white': (245, 245, 245),
}
MAX_CLASSES = len(SHAPES) * len(COLOURS)


def _class_table() -> List[Tuple[str, str]]:
    """(colour, shape) per class: the first classes differ in both."""
    colours = list(COLOURS)
    table = list(zip(colours, SHAPES))
    table += [(c, s) for s in SHAPES for c in colours if (c, s) not in table]
    return table


def toy_class_names(num_classes: int) -> List[str]:
    """Names of the first ``num_classes`` toy classes, e.g. ``red_square``."""
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f'num_classes must be in [1, {MAX_CLASSES}], '
                         f'got {num_classes}')
    return [f'{c}_{s}' for c, s in _class_table()[:num_classes]]


@dataclasses.dataclass(frozen=True)
class ToySpec:
    """Knobs of the toy dataset. ``validate`` names any out-of-range knob.

    Args:
        num_images (int): Number of images. Defaults to 200.
        num_classes (int): Number of classes, at most ``MAX_CLASSES`` (48).
            Defaults to 6.
        image_size (int): Side of the square images in pixels. Defaults to
            128.
        objects_per_image (tuple[int, int]): Inclusive range of the number of
            objects (a group counts as one) per image. Defaults to (1, 4).
        imbalance (float): Frequency of the most common class divided by
            that of the rarest; class ``c`` has probability proportional to
            ``imbalance ** (-c / (C - 1))``. 1 is balanced. Defaults to 1.
        object_size (tuple[int, int]): Side range of normal objects in
            pixels. Defaults to (16, 40).
        small_fraction (float): Probability that an object is small.
            Defaults to 0.
        small_size (tuple[int, int]): Side range of small objects. Defaults
            to (6, 12).
        clutter (float): Density of distractor strokes in the background, in
            [0, 1]. Defaults to 0.
        max_occlusion (float): Largest fraction of an object's visible
            pixels a later object may cover, in [0, 0.9]. 0 means objects
            never overlap. Defaults to 0.
        group_prob (float): Probability that an object is a group of
            touching same-class objects (each annotated). Defaults to 0.
        group_size (tuple[int, int]): Inclusive range of the group size.
            Defaults to (2, 4).
        seed (int): Seed of every random choice. Defaults to 0.
    """
    num_images: int = 200
    num_classes: int = 6
    image_size: int = 128
    objects_per_image: Tuple[int, int] = (1, 4)
    imbalance: float = 1.0
    object_size: Tuple[int, int] = (16, 40)
    small_fraction: float = 0.0
    small_size: Tuple[int, int] = (6, 12)
    clutter: float = 0.0
    max_occlusion: float = 0.0
    group_prob: float = 0.0
    group_size: Tuple[int, int] = (2, 4)
    seed: int = 0

    def validate(self) -> 'ToySpec':
        """Raise ``ValueError`` naming the first knob out of its range."""

        def check(name, ok, expected):
            if not ok:
                raise ValueError(f'toy dataset knob {name}='
                                 f'{getattr(self, name)!r}: expected '
                                 f'{expected}')

        def check_range(name, low, high):
            pair = getattr(self, name)
            ok = (
                len(pair) == 2
                and all(isinstance(v, (int, np.integer)) for v in pair)
                and low <= pair[0] <= pair[1] <= high)
            check(name, ok, f'two integers lo <= hi within [{low}, {high}]')

        check('num_images', 1 <= self.num_images <= 1_000_000,
              'an integer in [1, 1000000]')
        check('num_classes', 1 <= self.num_classes <= MAX_CLASSES,
              f'an integer in [1, {MAX_CLASSES}]')
        check('image_size', 32 <= self.image_size <= 2048,
              'an integer in [32, 2048]')
        check_range('objects_per_image', 0, 100)
        check('imbalance', 1.0 <= self.imbalance <= 1000.0,
              'a float in [1, 1000]')
        check_range('object_size', 4, self.image_size)
        check('small_fraction', 0.0 <= self.small_fraction <= 1.0,
              'a float in [0, 1]')
        check_range('small_size', 2, self.image_size)
        check('clutter', 0.0 <= self.clutter <= 1.0, 'a float in [0, 1]')
        check('max_occlusion', 0.0 <= self.max_occlusion <= 0.9,
              'a float in [0, 0.9]')
        check('group_prob', 0.0 <= self.group_prob <= 1.0, 'a float in [0, 1]')
        check_range('group_size', 2, 16)
        return self

    def class_probs(self) -> np.ndarray:
        """Probability of each class, a geometric long tail."""
        c = self.num_classes
        if c == 1:
            return np.ones(1)
        weights = self.imbalance**(-np.arange(c) / (c - 1))
        return weights / weights.sum()


def _draw_shape(canvas: np.ndarray, shape: str, x0: int, y0: int, w: int,
                h: int, value) -> None:
    """Draw a filled shape in the box [x0, x0+w) x [y0, y0+h) of canvas."""
    x1, y1 = x0 + w - 1, y0 + h - 1
    xc, yc = x0 + (w - 1) / 2, y0 + (h - 1) / 2
    if shape == 'square':
        cv2.rectangle(canvas, (x0, y0), (x1, y1), value, thickness=-1)
    elif shape == 'circle':
        cv2.ellipse(canvas, (round(xc), round(yc)),
                    (max(1, (w - 1) // 2), max(1, (h - 1) // 2)), 0, 0, 360,
                    value, -1)
    elif shape == 'ring':
        thick = max(2, min(w, h) // 5)
        cv2.ellipse(canvas, (round(xc), round(yc)), (max(
            1, (w - 1) // 2 - thick // 2), max(1, (h - 1) // 2 - thick // 2)),
                    0, 0, 360, value, thick)
    elif shape == 'triangle':
        pts = np.array([[x0, y1], [x1, y1], [round(xc), y0]], np.int32)
        cv2.fillPoly(canvas, [pts], value)
    elif shape == 'diamond':
        pts = np.array([[round(xc), y0], [x1, round(yc)], [round(xc), y1],
                        [x0, round(yc)]], np.int32)
        cv2.fillPoly(canvas, [pts], value)
    elif shape == 'cross':
        tw, th = max(1, w // 3), max(1, h // 3)
        cv2.rectangle(canvas, (round(xc - tw / 2), y0),
                      (round(xc + tw / 2), y1), value, -1)
        cv2.rectangle(canvas, (x0, round(yc - th / 2)),
                      (x1, round(yc + th / 2)), value, -1)
    else:
        raise ValueError(f'unknown shape {shape!r}')


def _background(rng: np.random.Generator, spec: ToySpec) -> np.ndarray:
    size = spec.image_size
    base = rng.integers(80, 140)
    img = base + rng.normal(0, 8, size=(size, size, 1))
    img = np.repeat(img, 3, axis=2) + rng.normal(0, 3, size=(size, size, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    # Distractors: grey / brown strokes, never a class colour.
    for _ in range(int(round(spec.clutter * 24))):
        tone = rng.integers(40, 200)
        colour = (int(tone), int(tone * rng.uniform(0.7, 1.0)),
                  int(tone * rng.uniform(0.5, 0.9)))
        p0 = tuple(int(v) for v in rng.integers(0, size, 2))
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        if rng.random() < 0.5:
            cv2.line(img, p0, p1, colour, int(rng.integers(1, 4)))
        else:
            axes = tuple(int(v) for v in rng.integers(2, max(3, size // 8), 2))
            cv2.ellipse(img, p0, axes, float(rng.uniform(0, 180)), 0, 360,
                        colour, -1)
    return img


def _render_image(rng: np.random.Generator, spec: ToySpec,
                  table: List[Tuple[str, str]]):
    """Render one image; returns the RGB image and its objects."""
    size = spec.image_size
    img = _background(rng, spec)
    probs = spec.class_probs()
    visible = []  # per annotated object: mask of its still-visible pixels
    objects = []
    lo, hi = spec.objects_per_image
    for _ in range(int(rng.integers(lo, hi + 1))):
        label = int(rng.choice(spec.num_classes, p=probs))
        small = rng.random() < spec.small_fraction
        side_lo, side_hi = spec.small_size if small else spec.object_size
        n_parts = 1
        if rng.random() < spec.group_prob:
            n_parts = int(
                rng.integers(spec.group_size[0], spec.group_size[1] + 1))
        horizontal = rng.random() < 0.5
        w = int(rng.integers(side_lo, side_hi + 1))
        h = int(np.clip(round(w * rng.uniform(0.8, 1.25)), 2, size))
        along = (w if horizontal else h) * n_parts
        if along > size:  # shrink the group to fit the image
            n_parts = max(1, size // (w if horizontal else h))
        span_w = w * n_parts if horizontal else w
        span_h = h if horizontal else h * n_parts
        placed = False
        for _try in range(30):
            x0 = int(rng.integers(0, size - span_w + 1))
            y0 = int(rng.integers(0, size - span_h + 1))
            masks = []
            for k in range(n_parts):
                mask = np.zeros((size, size), np.uint8)
                px = x0 + (k * w if horizontal else 0)
                py = y0 + (0 if horizontal else k * h)
                _draw_shape(mask, table[label][1], px, py, w, h, 1)
                masks.append(mask.astype(bool))
            union = np.logical_or.reduce(masks)
            if all((vis & union).sum() <= spec.max_occlusion * vis.sum()
                   for vis in visible):
                placed = True
                break
        if not placed:
            continue
        colour = np.array(COLOURS[table[label][0]], np.float64)
        for mask in masks:
            jitter = rng.uniform(-18, 18, size=3)
            img[mask] = np.clip(colour + jitter, 0, 255).astype(np.uint8)
            for vis in visible:
                vis &= ~mask
            visible.append(mask.copy())
            ys, xs = np.nonzero(mask)
            objects.append(
                dict(
                    label=label,
                    bbox=[
                        int(xs.min()),
                        int(ys.min()),
                        int(xs.max() - xs.min() + 1),
                        int(ys.max() - ys.min() + 1)
                    ],
                    area=int(mask.sum()),
                    small=bool(small),
                    group=n_parts if n_parts > 1 else 0))
    return img, objects


def _split_key(split: str) -> int:
    return zlib.crc32(split.encode('utf-8'))


def generate_toy_dataset(out_dir: str,
                         split: str = 'train',
                         spec: Optional[ToySpec] = None,
                         **overrides) -> str:
    """Write one split of the toy dataset in COCO format.

    Images go to ``{out_dir}/{split}/{id:06d}.png``, annotations to
    ``{out_dir}/annotations/instances_{split}.json`` (written last and
    atomically, so a present json means a complete split). The same spec,
    split and seed always give the same files.

    Args:
        out_dir (str): Dataset root.
        split (str): Split name; it also keys the random stream, so
            ``train`` and ``val`` differ under one seed. Defaults to
            ``'train'``.
        spec (ToySpec, optional): Knobs; ``overrides`` replace fields.

    Returns:
        str: Path of the annotation json.
    """
    spec = dataclasses.replace(spec or ToySpec(), **overrides).validate()
    table = _class_table()[:spec.num_classes]
    names = toy_class_names(spec.num_classes)
    img_dir = osp.join(out_dir, split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for index in range(spec.num_images):
        rng = np.random.default_rng([spec.seed, _split_key(split), index])
        img, objects = _render_image(rng, spec, table)
        image_id = index + 1
        file_name = f'{image_id:06d}.png'
        cv2.imwrite(osp.join(img_dir, file_name), img[:, :, ::-1])
        images.append(
            dict(
                id=image_id,
                file_name=file_name,
                width=spec.image_size,
                height=spec.image_size,
                image_labels=sorted({o['label'] + 1
                                     for o in objects})))
        for obj in objects:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=obj['label'] + 1,
                    bbox=obj['bbox'],
                    area=obj['area'],
                    iscrowd=0,
                    small=obj['small'],
                    group=obj['group']))
    categories = [
        dict(id=i + 1, name=name, colour=c, shape=s, supercategory='shape')
        for i, (name, (c, s)) in enumerate(zip(names, table))
    ]
    coco = dict(
        info=dict(
            description='mmal toy shapes dataset',
            split=split,
            mmal_toy_spec=dataclasses.asdict(spec)),
        images=images,
        annotations=annotations,
        categories=categories)
    ann_file = osp.join(out_dir, 'annotations', f'instances_{split}.json')
    atomic_write_json(coco, ann_file)
    return ann_file


def _spec_matches(ann_file: str, spec: ToySpec) -> bool:
    try:
        with open(ann_file) as f:
            stored = json.load(f)['info']['mmal_toy_spec']
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return stored == json.loads(json.dumps(dataclasses.asdict(spec)))


def make_toy_benchmark(root: str,
                       num_train: int = 200,
                       num_val: int = 50,
                       force: bool = False,
                       **knobs) -> Dict[str, str]:
    """Make (or reuse) the ``train`` and ``val`` splits of a toy dataset.

    A split whose json already records the same knobs is kept as it is, so
    calling this before every run costs milliseconds.

    Args:
        root (str): Dataset root, e.g. ``data/toy``.
        num_train (int): Training images. Defaults to 200.
        num_val (int): Validation images. Defaults to 50.
        force (bool): Regenerate even when up to date. Defaults to False.
        **knobs: Other :class:`ToySpec` fields, shared by both splits.

    Returns:
        dict: ``{'train': ann_file, 'val': ann_file}``.
    """
    specs = {
        split: ToySpec(num_images=num, **knobs).validate()
        for split, num in (('train', num_train), ('val', num_val))
    }
    os.makedirs(root, exist_ok=True)
    paths = {}
    # Several processes (one per GPU) may ask at once: one generates, the
    # others wait for the lock and then find the data up to date.
    with file_lock(osp.join(root, '.generate.lock')):
        for split, spec in specs.items():
            ann_file = osp.join(root, 'annotations', f'instances_{split}.json')
            if force or not _spec_matches(ann_file, spec):
                generate_toy_dataset(root, split, spec)
            paths[split] = ann_file
    return paths


def prepare_toy_data(cfg) -> Optional[Dict[str, str]]:
    """Generate the toy data a config asks for through its ``toy_data`` key.

    Configs built on ``configs/_base_/datasets/toy_shapes.py`` carry
    ``toy_data = dict(num_train=..., num_val=..., **ToySpec knobs)`` and
    ``data_root``; other configs are left alone. A ``toy_proposals`` dict
    (arguments of :func:`mmal.testing.make_toy_proposals`) also makes the
    proposal files of weakly-supervised configs.

    Args:
        cfg (mmengine.Config): The config.

    Returns:
        dict | None: The annotation files, or None without ``toy_data``.
    """
    if not cfg.get('toy_data'):
        return None
    paths = make_toy_benchmark(cfg.data_root, **cfg.toy_data)
    if cfg.get('toy_proposals'):
        make_toy_proposals(cfg.data_root, paths, **cfg.toy_proposals)
    return paths
