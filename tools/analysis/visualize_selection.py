"""Draw the images an active-learning cycle acquired, with what the strategy
saw in them.

    python tools/analysis/visualize_selection.py WORK_DIR --cycle K \\
        [--out DIR] [--max-images N] [--img-dir DIR] [--ann-file FILE] \\
        [--show-gt]

Reads ``WORK_DIR/cycle_<K>/selected.json`` (the images acquired for cycle
``K``, in pick order) and the per-image summaries that the pool pass of
cycle ``K - 1`` left in its summary store, ``WORK_DIR/cycle_<K-1>/
acquisition/``. Of the summaries only the fields that are displayable
(:data:`mmal.strategies.base_strategy.DISPLAY_FIELDS`) and that the
strategy declared for display (``display_fields``, recorded in the store's
``meta.json``) are read; a store without that record (an older run) is
drawn without boxes, as the index says. Writes to ``--out`` (default
``WORK_DIR/cycle_<K>/visualization/``):

- ``<rank>_<image id>.png`` per selected image, ``rank`` being its
  (0-based, zero-padded) position in ``selected.json``'s ``image_ids``,
  with the detections (``det_boxes``) as thin boxes in their class colour
  and the BiB pairs (``pair_boxes``): the small box dashed, the large box
  thick, both in the class colour, a line between their centres and a
  ``#i class`` label on each; with ``--show-gt`` the ground-truth boxes of
  ``labeled.json`` in white. Summaries without these fields (other
  strategies) or images without a summary are drawn with what exists.
- ``index.html``: a table of all drawn images (thumbnail, rank, image id,
  score, number of pairs, classes of the pairs) and a legend of the class
  colours and line styles.

Drawing is mmengine's :class:`~mmengine.visualization.Visualizer`; class
colours are the config's ``metainfo.palette``, else mmdet's COCO palette
(what mmdet's visualizer shows for a ``CocoDataset``), then its
``'random'`` one (:func:`mmdet.visualization.palette.get_palette`).

Image file names and ground truth come from ``--ann-file`` (default:
``cycle_<K>/labeled.json``, else the pool annotation file of the run's
config); images are read from ``--img-dir`` (default: the run's
``al.pool.img_dir``, else the train dataset's ``data_root`` +
``data_prefix.img``, from ``run.json``; relative paths are relative to the
current directory, as for the run). Class names are the config's
``metainfo.classes``, else the categories of the annotation file in file
order (the pool's label order).
"""
import argparse
import contextlib
import functools
import html
import io
import json
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from matplotlib.font_manager import FontProperties
from mmdet.visualization.palette import get_palette, palette_val
from mmengine.fileio import load
from mmengine.visualization import Visualizer
from pycocotools.coco import COCO
from tqdm import tqdm

from mmal.active_learning import dataset_img_dir, innermost_dataset
from mmal.active_learning.summary_store import Summaries, SummaryStore
from mmal.active_learning.work_dir import WorkDir
from mmal.strategies.base_strategy import DISPLAY_FIELDS
from mmal.utils.fileio import atomic_open, atomic_write_text

INDEX = 'index.html'
GT_COLOR = (255, 255, 255)  # BGR
Color = Tuple[int, int, int]
#: Font size of the ``#i`` tags and padding around them, in points; the
#: figure has ``72 * thin`` dpi, so a point is a thin line's width.
TAG_SIZE = 10
TAG_PAD = 1.5
#: Line style of the small box of a pair: 4 on, 4 off (in line widths).
#: matplotlib's '--' (3.7 on, 1.6 off) leaves gaps too short to see at
#: 1 px.
DASHED = (0, (4, 4))


class VisError(Exception):
    """Bad or missing input; the message is one line naming the file."""


# ----------------------------------------------------------------------------
# colours
@functools.lru_cache(maxsize=None)
def _default_color(index: int) -> Tuple[int, int, int]:
    """mmdet's COCO palette (the colours its visualizer gives a
    ``CocoDataset``), then its ``'random'`` palette (fixed per index)."""
    coco = get_palette('coco', 0)
    r, g, b = coco[index] if index < len(coco) else get_palette(
        'random', index + 1)[index]
    return int(r), int(g), int(b)


def class_color(label: int, palette: Optional[Sequence] = None) -> Color:
    """The colour of a class index.

    Args:
        label (int): Class index (0-based).
        palette (Sequence, optional): RGB colours by class index (the
            config's ``metainfo.palette``). Indices beyond it, or all
            without one, take mmdet's COCO palette, then its ``'random'``
            one.

    Returns:
        tuple[int, int, int]: The colour as OpenCV BGR, each in [0, 255].
    """
    label = int(label)
    if palette is not None and 0 <= label < len(palette):
        r, g, b = (int(c) for c in palette[label])
    else:
        r, g, b = _default_color(abs(label))
    return b, g, r


def color_hex(color: Color) -> str:
    """An OpenCV BGR colour as an HTML ``#rrggbb`` string."""
    b, g, r = color
    return f'#{r:02x}{g:02x}{b:02x}'


def _rgb(color: Color) -> Tuple[int, int, int]:
    """A BGR colour as RGB, the Visualizer's order."""
    return tuple(int(c) for c in color[::-1])


def class_name(label: int, classes: Sequence[str]) -> str:
    """The name of a class index, or ``class <i>`` when out of range."""
    label = int(label)
    return classes[label] if 0 <= label < len(classes) else f'class {label}'


# ----------------------------------------------------------------------------
# drawing
def line_widths(shape: Sequence[int]) -> Tuple[int, int]:
    """Thin and thick line widths in pixels for an image of ``shape``
    (h, w, ...), growing with the image so that lines stay visible."""
    unit = max(1, int(round(max(shape[0], shape[1]) / 500)))
    return unit, 3 * unit


@functools.lru_cache(maxsize=4)
def _visualizer(unit: int) -> Visualizer:
    """A Visualizer whose figure has ``72 * unit`` dpi.

    A point is then ``unit`` pixels, the width of a thin line.
    ``draw_bboxes`` clamps widths to [1, font size / 4] points (the font
    size is >= 10 and grows slowly with the image), so at one dpi for all
    images either thin lines could not be 1 px or the thick lines of large
    images would be cut to about their thin ones; in these units thick
    lines are 2.5 to 3 thin ones.
    """
    return Visualizer(
        name=f'visualize_selection_{unit}',
        fig_save_cfg=dict(frameon=False, dpi=72 * unit))


def _corners(box: Sequence[float]) -> Tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(round(float(v))) for v in box[:4])
    return x1, y1, x2, y2


def _on_pixels(boxes: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Boxes as Visualizer coordinates: corners ordered and kept inside the
    image, so that a box on the border stays visible (matplotlib snaps
    1-pixel lines at coordinate ``x`` to pixel column ``x``, as OpenCV
    draws them)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    h, w = shape[:2]
    xs = np.clip(b[:, 0::2], 0, max(w - 1, 0))
    ys = np.clip(b[:, 1::2], 0, max(h - 1, 0))
    return np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)


def _draw_tags(vis: Visualizer, tags: Sequence[tuple]) -> None:
    """Draw ``(text, (x, y), bgr colour, above)`` tags: text on a filled
    tag of the colour, the tag's bottom-left (``above``) or top-left
    corner at ``(x, y)``, moved inside the image where needed (measured
    with the figure's renderer: the Visualizer does not keep texts
    inside)."""
    if not tags:
        return
    renderer = vis.fig_save_canvas.get_renderer()
    prop = FontProperties(family='sans-serif', size=TAG_SIZE)
    pad = TAG_PAD * vis.dpi / 72  # pixels
    texts, positions, inks, valigns, boxes = [], [], [], [], []
    for text, (x, y), color, above in tags:
        tw, th, _ = renderer.get_text_width_height_descent(
            text, prop, ismath=False)
        x = max(min(x + pad, vis.width - tw - pad), pad)
        if above:  # y: bottom of the text
            y = min(max(y - pad, th + pad), vis.height - pad)
        else:  # y: top of the text
            y = max(min(y + pad, vis.height - th - pad), pad)
        r, g, b = _rgb(color)
        dark = 0.299 * r + 0.587 * g + 0.114 * b > 140
        texts.append(text)
        positions.append((x, y))
        inks.append((0, 0, 0) if dark else (255, 255, 255))
        valigns.append('bottom' if above else 'top')
        boxes.append(
            dict(
                facecolor=palette_val([(r, g, b)])[0],
                edgecolor='none',
                pad=TAG_PAD,
                alpha=1.0))
    vis.draw_texts(
        texts,
        np.array(positions, np.float64),
        font_sizes=TAG_SIZE,
        colors=inks,
        vertical_alignments=valigns,
        bboxes=boxes)


def _array(summary: Mapping, key: str, width: int) -> Optional[np.ndarray]:
    if key not in summary:
        return None
    return np.asarray(summary[key], dtype=np.float64).reshape(-1, width)


def _labels(summary: Mapping, key: str, n: int) -> np.ndarray:
    if key not in summary:
        return np.zeros(n, np.int64)
    return np.asarray(summary[key]).reshape(-1).astype(np.int64)


def pairs_of(summary: Optional[Mapping]) -> Tuple[np.ndarray, np.ndarray]:
    """The BiB pairs of a summary.

    Args:
        summary (Mapping, optional): An image's summary; ``None`` or one
            without ``pair_boxes`` has no pairs.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``pair_boxes`` (P, 8) (small box,
        then large box, ``x1, y1, x2, y2``) and ``pair_labels`` (P,).
    """
    boxes = None if summary is None else _array(summary, 'pair_boxes', 8)
    if boxes is None:
        return np.zeros((0, 8)), np.zeros(0, np.int64)
    labels = _labels(summary, 'pair_labels', len(boxes))
    n = min(len(boxes), len(labels))
    return boxes[:n], labels[:n]


def draw_selection(img: np.ndarray,
                   summary: Optional[Mapping],
                   classes: Sequence[str],
                   gt_boxes: Optional[np.ndarray] = None,
                   palette: Optional[Sequence] = None) -> np.ndarray:
    """Draw what a strategy saw in one image.

    Drawn in this order: ground truth (white, thin), detections
    (``det_boxes`` / ``det_labels``, thin, class colour; those that are a
    box of a pair are drawn with the pair only), then the BiB pairs
    (``pair_boxes`` / ``pair_labels``): a line between the centres of the
    two boxes, the small box dashed and thin and the large box thick, both
    in the class colour, and the tags ``#i class`` (above the large box)
    and ``#i`` (below the small box).

    Args:
        img (np.ndarray): BGR image (H, W, 3), uint8; not modified.
        summary (Mapping, optional): The displayable fields of the image's
            summary from the pool pass; missing keys are skipped.
        classes (Sequence[str]): Class names by class index.
        gt_boxes (np.ndarray, optional): Ground-truth boxes (N, 4),
            ``x1, y1, x2, y2``.
        palette (Sequence, optional): RGB colours by class index, see
            :func:`class_color`.

    Returns:
        np.ndarray: The drawing, a new BGR uint8 image.
    """
    img = np.ascontiguousarray(img, dtype=np.uint8)
    thin, thick = line_widths(img.shape)
    vis = _visualizer(thin)  # widths below are in points: thin lines
    vis.set_image(mmcv.bgr2rgb(img))

    def boxes(xyxy, colors, style='-', width=1):
        if len(xyxy):
            vis.draw_bboxes(
                _on_pixels(xyxy, img.shape),
                edge_colors=[_rgb(c) for c in colors],
                line_styles=style,
                line_widths=width,
                alpha=1.0)

    if gt_boxes is not None:
        gt = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        boxes(gt, [GT_COLOR] * len(gt))
    summary = summary or {}
    pair_boxes, pair_labels = pairs_of(summary)
    in_pairs = {_corners(b) for b in pair_boxes.reshape(-1, 4)}
    det_boxes = _array(summary, 'det_boxes', 4)
    if det_boxes is not None:
        det_labels = _labels(summary, 'det_labels', len(det_boxes))
        n = min(len(det_boxes), len(det_labels))
        keep = np.array([_corners(b) not in in_pairs for b in det_boxes[:n]],
                        dtype=bool)  # the others are drawn as pairs
        boxes(det_boxes[:n][keep],
              [class_color(c, palette) for c in det_labels[:n][keep]])
    if len(pair_boxes):
        colors = [class_color(c, palette) for c in pair_labels]
        small = _on_pixels(pair_boxes[:, :4], img.shape)
        large = _on_pixels(pair_boxes[:, 4:], img.shape)
        cs = (small[:, :2] + small[:, 2:]) / 2
        cl = (large[:, :2] + large[:, 2:]) / 2
        vis.draw_lines(
            np.stack([cs[:, 0], cl[:, 0]], axis=1),
            np.stack([cs[:, 1], cl[:, 1]], axis=1),
            colors=[_rgb(c) for c in colors],
            line_widths=1)
        boxes(pair_boxes[:, :4], colors, DASHED)
        boxes(pair_boxes[:, 4:], colors, '-', thick // thin)
        tags = []
        for i, (label, color) in enumerate(zip(pair_labels, colors)):
            tags.append((f'#{i} {class_name(label, classes)}',
                         (large[i, 0] - thick / 2,
                          large[i, 1] - thick / 2), color, True))
            tags.append(
                (f'#{i}', (small[i, 0], small[i, 3] + thin / 2), color, False))
        _draw_tags(vis, tags)  # texts lie above every box
    return mmcv.rgb2bgr(vis.get_image())


def zoomed(summary: Optional[Mapping], zoom: float) -> Optional[dict]:
    """A copy of ``summary`` with its boxes (``det_boxes``,
    ``pair_boxes``) multiplied by ``zoom``."""
    if summary is None:
        return None
    out = dict(summary)
    for key in ('det_boxes', 'pair_boxes'):
        if key in out:
            out[key] = np.asarray(out[key], np.float64) * zoom
    return out


def write_png(img: np.ndarray, path: str) -> None:
    """Write a BGR image as PNG, atomically.

    Args:
        img (np.ndarray): BGR image, uint8.
        path (str): Destination ``.png`` file.
    """
    ok, data = cv2.imencode('.png', img)
    if not ok:
        raise VisError(f'{path}: could not encode the image as PNG')
    with atomic_open(path, 'wb') as f:
        f.write(data.tobytes())


# ----------------------------------------------------------------------------
# inputs
def read_json(path: str, what: str) -> dict:
    """Load a json object, raising :class:`VisError` naming ``path`` and
    ``what`` was expected when it is missing or malformed."""
    if not osp.isfile(path):
        raise VisError(f'{path}: no such file; expected {what}')
    try:
        data = load(path, file_format='json')
    except ValueError as e:  # also UnicodeDecodeError
        raise VisError(f'{path}: malformed JSON ({e}); expected {what}') \
            from None
    if not isinstance(data, dict):
        raise VisError(f'{path}: expected a JSON object ({what})')
    return data


def load_selection(path: str, cycle: int) -> dict:
    """Read and check a ``selected.json``.

    Args:
        path (str): The file.
        cycle (int): The cycle it belongs to (for messages).

    Returns:
        dict: With ``image_ids`` (list of int, pick order), ``scores``
        (list of float or None, same length, or None), ``strategy`` (dict)
        and ``scored_by_cycle``.
    """
    what = f'the selected.json of cycle {cycle} (the images acquired for it)'
    sel = read_json(path, what)
    ids = sel.get('image_ids')
    if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise VisError(f'{path}: expected "image_ids", a list of integers')
    scores = sel.get('scores')
    if scores is not None and (not isinstance(scores, list)
                               or len(scores) != len(ids)):
        raise VisError(f'{path}: expected "scores" to be null or a list as '
                       f'long as "image_ids" ({len(ids)})')
    strategy = sel.get('strategy')
    return dict(
        image_ids=ids,
        scores=scores,
        strategy=strategy if isinstance(strategy, dict) else {},
        scored_by_cycle=sel.get('scored_by_cycle', cycle - 1))


def run_config(work_dir: str) -> Optional[dict]:
    """The config recorded in the work dir's run record, or None without
    one."""
    path = WorkDir(work_dir).run_record
    if not osp.isfile(path):
        return None
    config = read_json(path, 'the run record of the work dir').get('config')
    return config if isinstance(config, dict) else None


def _train_dataset(config: Optional[dict]) -> dict:
    try:
        return innermost_dataset(config['train_dataloader']['dataset'])
    except (KeyError, TypeError, IndexError):
        return {}


def default_img_dir(config: Optional[dict]) -> Optional[str]:
    """The pool's image folder of a run config: ``al.pool.img_dir``, else
    the train dataset's ``data_root`` + ``data_prefix.img``.

    Args:
        config (dict, optional): The config dict of ``run.json``.

    Returns:
        str, optional: The folder, or None if the config does not say.
    """
    if not config:
        return None
    pool = (config.get('al') or {}).get('pool') or {}
    if pool.get('img_dir'):
        return pool['img_dir']
    ds = _train_dataset(config)
    return dataset_img_dir(ds) if ds else None


def default_pool_ann_file(config: Optional[dict]) -> Optional[str]:
    """The pool annotation file of a run config: ``al.pool.ann_file``,
    else the train dataset's ``data_root`` + ``ann_file``."""
    if not config:
        return None
    pool = (config.get('al') or {}).get('pool') or {}
    if pool.get('ann_file'):
        return pool['ann_file']
    ds = _train_dataset(config)
    if not ds.get('ann_file'):
        return None
    return osp.join(ds.get('data_root') or '', ds['ann_file'])


def config_classes(config: Optional[dict]) -> Optional[List[str]]:
    """The train dataset's ``metainfo.classes`` of a run config, if set."""
    classes = (_train_dataset(config).get('metainfo') or {}).get('classes')
    return [str(c) for c in classes] if classes else None


def config_palette(config: Optional[dict]) -> Optional[List[tuple]]:
    """The train dataset's ``metainfo.palette`` (RGB colours by class) of
    a run config, if set to a list of colours."""
    palette = (_train_dataset(config).get('metainfo') or {}).get('palette')
    if not isinstance(palette, (list, tuple)) or not all(
            isinstance(c, (list, tuple)) and len(c) == 3 and all(
                isinstance(v, int) and 0 <= v <= 255 for v in c)
            for c in palette):
        return None
    return [tuple(c) for c in palette]


def load_coco(path: str) -> COCO:
    """Read a COCO json and index it with pycocotools.

    Args:
        path (str): The file.

    Returns:
        COCO: The indexed file (``imgs``: id -> image dict,
        ``dataset['categories']``: the categories in file order).

    Raises:
        VisError: Naming ``path`` when it is missing or not a COCO json.
    """
    data = read_json(path, 'a COCO json with "images" and "categories"')
    if not isinstance(data.get('images'), list):
        raise VisError(f'{path}: expected a COCO json with an "images" list')
    for img in data['images']:
        if not isinstance(img, dict) or 'id' not in img \
                or 'file_name' not in img:
            raise VisError(f'{path}: expected every image to have "id" and '
                           '"file_name"')
    for key in ('annotations', 'categories'):
        if not isinstance(data.get(key) or [], list):
            raise VisError(f'{path}: expected "{key}" to be a list')
    coco = COCO()
    coco.dataset = data
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints progress
            coco.createIndex()
    except (KeyError, TypeError) as e:
        raise VisError(f'{path}: expected every annotation to have "id", '
                       f'"image_id" and "category_id" and every category '
                       f'an "id" ({type(e).__name__}: {e})') from None
    return coco


def gt_boxes_of(coco: COCO, img_id: int) -> np.ndarray:
    """The ground-truth boxes of an image as (N, 4) ``x1, y1, x2, y2``
    (annotations without a 4-number ``bbox`` are skipped)."""
    xywh = [
        ann['bbox'] for ann in coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        if isinstance(ann.get('bbox'), list) and len(ann['bbox']) == 4
    ]
    xywh = np.array(xywh, np.float64).reshape(-1, 4)
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)


def find_images(ids: Sequence[int], coco: COCO, img_dir: str,
                ann_file: str) -> Dict[int, str]:
    """The image file of every id, checked to exist.

    Args:
        ids (Sequence[int]): Image ids.
        coco (COCO): From :func:`load_coco`.
        img_dir (str): Image folder.
        ann_file (str): The file ``coco`` came from (for messages).

    Returns:
        dict[int, str]: Image id -> path.

    Raises:
        VisError: An id is not in ``coco`` or its file is missing.
    """
    paths = {}
    for img_id in ids:
        info = coco.imgs.get(int(img_id))
        if info is None:
            raise VisError(f'{ann_file}: expected image {img_id} (selected) '
                           'among its images; pass --ann-file with the pool '
                           'annotation file')
        path = osp.join(img_dir, info['file_name'])
        if not osp.isfile(path):
            raise VisError(f'{path}: no such image file (image {img_id}); '
                           f'expected it under the image folder {img_dir!r}, '
                           'pass --img-dir to give another')
        paths[int(img_id)] = path
    return paths


def read_image(path: str, img_id: int) -> np.ndarray:
    """An image file as BGR uint8, read as mmdet's ``LoadImageFromFile``
    does (EXIF orientation applied)."""
    try:
        img = mmcv.imread(path, flag='color')
    except cv2.error:  # e.g. an empty file
        img = None
    if img is None:
        raise VisError(f'{path}: expected an image file OpenCV can read '
                       f'(image {img_id})')
    return img


def read_summaries(
        store_dir: str) -> Tuple[Optional[Summaries], Tuple[str, ...], str]:
    """The displayable summaries of a pool pass.

    Only fields that are in :data:`DISPLAY_FIELDS` and that the strategy
    declared (``display_fields`` of the store's meta) are drawn; nothing
    is read from a store without that record.

    Args:
        store_dir (str): The summary store (``cycle_<k>/acquisition``).

    Returns:
        tuple: The summaries (None when nothing is to be drawn from them),
        the fields to draw, and a line for the index saying which.

    Raises:
        VisError: The store cannot be read.
    """
    store = SummaryStore(store_dir)
    try:
        store.check_format()
    except ValueError as e:
        return None, (), f'not drawn: {e}'
    try:
        shards = store.shard_paths()
        meta = store.meta if shards else None
    except (OSError, ValueError) as e:
        raise VisError(f'{store_dir}: unreadable summary store ({e})') \
            from None
    if not shards:
        return None, (), (f'none ({store_dir} missing or empty: boxes not '
                          'drawn)')
    declared = meta.get('display_fields') if isinstance(meta, dict) else None
    if not isinstance(declared, list):
        return None, (), (f'{store_dir}: its meta records no display_fields '
                          '(summaries of an earlier mmal): nothing drawn '
                          'from them')
    fields = tuple(k for k in DISPLAY_FIELDS if k in declared)
    if not fields:
        return None, (), (f'{store_dir}: the strategy declares no display '
                          'fields: nothing drawn from them')
    try:
        summaries = store.read()
    except (OSError, ValueError, KeyError) as e:
        raise VisError(f'{store_dir}: unreadable acquisition shards ({e})') \
            from None
    return summaries, fields, f'{store_dir} (drawn: {", ".join(fields)})'


def displayed(summaries: Optional[Summaries], img_id: int,
              fields: Sequence[str]) -> Optional[dict]:
    """The ``fields`` of an image's summary, or None without one."""
    if summaries is None or img_id not in summaries:
        return None
    summary = summaries[img_id]
    return {k: np.asarray(summary[k]) for k in fields if k in summary}


# ----------------------------------------------------------------------------
# index.html
def _fmt_score(score) -> str:
    if score is None:
        return '-'
    try:
        return f'{float(score):.4g}'
    except (TypeError, ValueError):
        return html.escape(str(score))


def _chip(label: int,
          classes: Sequence[str],
          count: int = 0,
          palette: Optional[Sequence] = None) -> str:
    name = html.escape(class_name(label, classes))
    suffix = f' &times;{count}' if count > 1 else ''
    return (f'<span class="chip" style="background:'
            f'{color_hex(class_color(label, palette))}"></span>{name}'
            f'{suffix}')


def render_index(rows: Sequence[dict],
                 classes: Sequence[str],
                 header: Mapping[str, str],
                 palette: Optional[Sequence] = None) -> str:
    """The ``index.html`` of a visualisation.

    Args:
        rows (Sequence[dict]): One per drawn image, in pick order, with
            ``file`` (PNG name), ``rank``, ``image_id``, ``file_name``,
            ``score``, ``num_dets`` (None: no detections in the summary),
            ``pair_labels`` (None: no pairs in the summary, else a list of
            class indices).
        classes (Sequence[str]): Class names by class index.
        header (Mapping[str, str]): ``title`` and other facts shown above
            the table.
        palette (Sequence, optional): RGB colours by class index, see
            :func:`class_color`.

    Returns:
        str: The HTML page.
    """
    used = set(range(len(classes)))
    for row in rows:
        used.update(int(x) for x in row['pair_labels'] or [])
    legend = ' '.join(
        f'<span class="item">{_chip(c, classes, palette=palette)}</span>'
        for c in sorted(used))
    facts = ''.join(f'<li><b>{html.escape(k)}</b>: {html.escape(str(v))}'
                    f'</li>' for k, v in header.items() if k != 'title')
    body = []
    for row in rows:
        labels = row['pair_labels']
        if labels is None:
            n_pairs, pair_cls = '-', '-'
        else:
            n_pairs = str(len(labels))
            pair_cls = ', '.join(
                _chip(c, classes, n, palette) for c, n in sorted(
                    Counter(int(x) for x in labels).items(),
                    key=lambda kv: (-kv[1], kv[0]))) or '-'
        n_dets = '-' if row['num_dets'] is None else str(row['num_dets'])
        src = html.escape(row['file'], quote=True)
        body.append(f'<tr id="img-{row["image_id"]}">'
                    f'<td><a href="{src}"><img src="{src}" class="thumb" '
                    f'loading="lazy" alt="image {row["image_id"]}"></a></td>'
                    f'<td>{row["rank"]}</td><td>{row["image_id"]}</td>'
                    f'<td>{html.escape(str(row["file_name"]))}</td>'
                    f'<td>{_fmt_score(row["score"])}</td>'
                    f'<td class="pairs">{n_pairs}</td><td>{pair_cls}</td>'
                    f'<td>{n_dets}</td></tr>')
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>{html.escape(header.get('title', 'selection'))}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
img.thumb {{ max-width: 256px; max-height: 256px; }}
.chip {{ display: inline-block; width: 0.9em; height: 0.9em;
        margin-right: 0.3em; border: 1px solid #333;
        vertical-align: middle; }}
.item {{ margin-right: 1em; white-space: nowrap; }}
</style></head><body>
<h1>{html.escape(header.get('title', 'selection'))}</h1>
<ul>{facts}</ul>
<h2>Legend</h2>
<p>Thin box: detection; dashed box: small box of a BiB pair; thick box:
large box of a BiB pair (a line joins the two, tags <code>#i</code>);
white: ground truth (with --show-gt). Colour: the class.</p>
<p class="legend">{legend}</p>
<h2>Images</h2>
<table>
<tr><th>image</th><th>rank</th><th>image id</th><th>file</th><th>score</th>
<th>pairs</th><th>pair classes</th><th>detections</th></tr>
{chr(10).join(body)}
</table>
</body></html>
"""


# ----------------------------------------------------------------------------
def visualize(work_dir: str,
              cycle: int,
              out_dir: Optional[str] = None,
              max_images: Optional[int] = None,
              img_dir: Optional[str] = None,
              ann_file: Optional[str] = None,
              show_gt: bool = False,
              progress: bool = True,
              min_size: int = 512) -> str:
    """Draw the images selected for ``cycle`` and write ``index.html``.

    Args:
        work_dir (str): The run's work dir.
        cycle (int): The cycle whose ``selected.json`` is drawn (>= 1).
        out_dir (str, optional): Output folder. Defaults to
            ``WORK_DIR/cycle_<cycle>/visualization``.
        max_images (int, optional): Draw only the first N picks.
        img_dir (str, optional): Image folder; default from ``run.json``.
        ann_file (str, optional): COCO file with the images' file names
            (and ground truth). Defaults to ``cycle_<cycle>/labeled.json``,
            else the run's pool annotation file.
        show_gt (bool): Draw the ground-truth boxes of ``ann_file``.
        progress (bool): Show a progress bar. Defaults to True.
        min_size (int): Enlarge smaller images (and their boxes) so that
            their shorter side has this many pixels, for legible tags; 0
            keeps the original size. Defaults to 512.

    Returns:
        str: The path of ``index.html``.

    Raises:
        VisError: On missing or malformed input.
    """
    if not osp.isdir(work_dir):
        raise VisError(f'{work_dir}: no such work dir; expected the work dir '
                       'of an active-learning run (with cycle_<k>/ folders)')
    wd = WorkDir(work_dir)
    cdir = wd.cycle(cycle)
    if cycle < 1:
        raise VisError(
            f'{cdir.selected}: cycle {cycle} holds the initial random '
            'images, not an acquisition; expected --cycle >= 1')
    sel = load_selection(cdir.selected, cycle)
    if max_images is not None and max_images < 0:
        raise VisError(f'--max-images must be >= 0, got {max_images}')
    ids = sel['image_ids'][:max_images]
    config = run_config(work_dir)

    if ann_file is None:
        ann_file = cdir.labeled
        if not osp.isfile(ann_file):
            ann_file = default_pool_ann_file(config) or ann_file
    coco = load_coco(ann_file)
    if img_dir is None:
        img_dir = default_img_dir(config)
        if img_dir is None:
            raise VisError(f'{wd.run_record}: expected a run record with the '
                           'config\'s image folder; pass --img-dir')
    paths = find_images(ids, coco, img_dir, ann_file)
    classes = config_classes(config) or [
        str(c.get('name', c.get('id')))
        for c in coco.dataset.get('categories') or []
    ]
    palette = config_palette(config)

    scored_by = sel['scored_by_cycle']
    if not isinstance(scored_by, int) or isinstance(scored_by, bool):
        scored_by = cycle - 1
    store_dir = wd.cycle(scored_by).acquisition_dir
    summaries, fields, summaries_note = read_summaries(store_dir)

    out_dir = out_dir or cdir.visualization_dir
    width = max(3, len(str(max(len(sel['image_ids']) - 1, 0))))
    scores = sel['scores']
    rows = []
    for rank, img_id in enumerate(
            tqdm(ids, desc='drawing', unit='img', disable=not progress)):
        img = read_image(paths[img_id], img_id)
        summary = displayed(summaries, img_id, fields)
        gt = gt_boxes_of(coco, img_id) if show_gt else None
        zoom = max(1.0, min_size / min(img.shape[:2])) if min_size else 1.0
        if zoom > 1:
            img = mmcv.imrescale(img, zoom, interpolation='nearest')
            summary = zoomed(summary, zoom)
            gt = None if gt is None else gt * zoom
        drawing = draw_selection(img, summary, classes, gt, palette)
        name = f'{rank:0{width}d}_{img_id}.png'
        write_png(drawing, osp.join(out_dir, name))
        det = None if summary is None else _array(summary, 'det_boxes', 4)
        has_pairs = summary is not None and 'pair_boxes' in summary
        rows.append(
            dict(
                file=name,
                rank=rank,
                image_id=img_id,
                file_name=coco.imgs[img_id]['file_name'],
                score=None if scores is None else scores[rank],
                num_dets=None if det is None else len(det),
                pair_labels=pairs_of(summary)[1].tolist()
                if has_pairs else None))
    strategy = sel['strategy'].get('type', '?')
    header = {
        'title': f'cycle {cycle}: {strategy} selection',
        'work dir': wd.root,
        'strategy': json.dumps(sel['strategy'], sort_keys=True),
        'scored by cycle': scored_by,
        'images': f'{len(rows)} drawn of {len(sel["image_ids"])} selected',
        'summaries': summaries_note,
        'images from': f'{img_dir} ({ann_file})',
    }
    index = osp.join(out_dir, INDEX)
    atomic_write_text(render_index(rows, classes, header, palette), index)
    return index


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw the images an active-learning cycle acquired, '
        'with the detections and BiB pairs the strategy saw')
    parser.add_argument('work_dir', help='work dir of the run')
    parser.add_argument(
        '--cycle',
        type=int,
        required=True,
        help='draw cycle_<K>/selected.json (scored by cycle K-1); K >= 1')
    parser.add_argument(
        '--out',
        help='output folder (default: WORK_DIR/cycle_K/'
        'visualization)')
    parser.add_argument(
        '--max-images', type=int, help='draw only the first N picks')
    parser.add_argument(
        '--img-dir',
        help='image folder (default: al.pool.img_dir or the train '
        'dataset\'s data_root + data_prefix.img, from run.json)')
    parser.add_argument(
        '--ann-file',
        help='COCO file with the images\' file names and ground truth '
        '(default: cycle_K/labeled.json, else the pool file of run.json)')
    parser.add_argument(
        '--show-gt',
        action='store_true',
        help='draw the ground-truth boxes (white)')
    parser.add_argument(
        '--min-size',
        type=int,
        default=512,
        help='enlarge images whose shorter side is below this (boxes '
        'too), for legible tags; 0: original size (default 512)')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        index = visualize(
            args.work_dir,
            args.cycle,
            out_dir=args.out,
            max_images=args.max_images,
            img_dir=args.img_dir,
            ann_file=args.ann_file,
            show_gt=args.show_gt,
            progress=not args.no_progress,
            min_size=args.min_size)
    except VisError as e:
        raise SystemExit(f'visualize_selection: {e}') from None
    print(f'[mmal vis] {index}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
