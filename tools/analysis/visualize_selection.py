"""Draw the images an active-learning cycle acquired, with what the strategy
saw in them.

    python tools/analysis/visualize_selection.py WORK_DIR --cycle K \\
        [--out DIR] [--max-images N] [--img-dir DIR] [--ann-file FILE] \\
        [--show-gt]

Reads ``WORK_DIR/cycle_<K>/selected.json`` (the images acquired for cycle
``K``, in pick order) and the per-image summaries that the pool pass of
cycle ``K - 1`` wrote to ``WORK_DIR/cycle_<K-1>/acquisition/rank*.npz``,
and writes to ``--out`` (default ``WORK_DIR/cycle_<K>/visualization/``):

- ``<rank>_<image id>.png`` per selected image, ``rank`` being its
  (0-based, zero-padded) position in ``selected.json``'s ``image_ids``,
  with the detections (``det_boxes``) as thin boxes in their class colour
  and the BiB pairs (``pair_boxes``): the small box dashed, the large box
  thick, both in the class colour, a line between their centres and a
  ``#i class`` label on each; with ``--show-gt`` the ground-truth boxes of
  ``labeled.json`` in white. Summaries without these keys (other
  strategies) or images without a summary are drawn with what exists.
- ``index.html``: a table of all drawn images (thumbnail, rank, image id,
  score, number of pairs, classes of the pairs) and a legend of the class
  colours and line styles.

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
import colorsys
import html
import json
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from mmal.active_learning.acquisition import (dataset_img_dir,
                                              innermost_dataset, read_shards)
from mmal.utils.fileio import atomic_open, atomic_write_text

SELECTED = 'selected.json'
LABELED = 'labeled.json'
RUN_RECORD = 'run.json'
ACQ_DIR = 'acquisition'
OUT_DIR = 'visualization'
INDEX = 'index.html'
GT_COLOR = (255, 255, 255)  # BGR
Color = Tuple[int, int, int]
#: RGB colours of the first classes: Trubetskoy's 20 distinct colours less
#: white, black, grey and beige (too close to white, kept for ground truth).
PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
           (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
           (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
           (170, 110, 40), (128, 0, 0), (170, 255, 195), (128, 128, 0),
           (255, 215, 180), (0, 0, 128))


class VisError(Exception):
    """Bad or missing input; the message is one line naming the file."""


# ----------------------------------------------------------------------------
# colours and drawing primitives
def class_color(label: int) -> Color:
    """A distinct colour for a class index.

    The first classes take the fixed :data:`PALETTE`; later ones saturated
    hues stepping by the golden ratio, so any index has a colour. None is
    white (kept for ground truth).

    Args:
        label (int): Class index (0-based).

    Returns:
        tuple[int, int, int]: The colour as OpenCV BGR, each in [0, 255].
    """
    label = int(label)
    if 0 <= label < len(PALETTE):
        r, g, b = PALETTE[label]
        return b, g, r
    hue = (label * 0.618033988749895) % 1.0
    value = (0.95, 0.75)[label % 2]
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, value)
    return int(round(b * 255)), int(round(g * 255)), int(round(r * 255))


def color_hex(color: Color) -> str:
    """An OpenCV BGR colour as an HTML ``#rrggbb`` string."""
    b, g, r = color
    return f'#{r:02x}{g:02x}{b:02x}'


def class_name(label: int, classes: Sequence[str]) -> str:
    """The name of a class index, or ``class <i>`` when out of range."""
    label = int(label)
    return classes[label] if 0 <= label < len(classes) else f'class {label}'


def line_widths(shape: Sequence[int]) -> Tuple[int, int]:
    """Thin and thick line widths in pixels for an image of ``shape``
    (h, w, ...), growing with the image so that lines stay visible."""
    unit = max(1, int(round(max(shape[0], shape[1]) / 500)))
    return unit, 3 * unit


def _corners(box: Sequence[float]) -> Tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(round(float(v))) for v in box[:4])
    return x1, y1, x2, y2


def draw_box(img: np.ndarray, box: Sequence[float], color: Color,
             thickness: int) -> None:
    """Draw a solid rectangle in place.

    Args:
        img (np.ndarray): BGR image (H, W, 3), uint8; drawn on in place.
        box (Sequence[float]): ``x1, y1, x2, y2`` in pixels.
        color (tuple[int, int, int]): BGR colour.
        thickness (int): Line width in pixels.
    """
    x1, y1, x2, y2 = _corners(box)
    cv2.rectangle(img, (x1, y1), (x2, y2), color, thickness, cv2.LINE_8)


def draw_dashed_box(img: np.ndarray,
                    box: Sequence[float],
                    color: Color,
                    thickness: int,
                    dash: Optional[int] = None) -> None:
    """Draw a dashed rectangle in place.

    Args:
        img (np.ndarray): BGR image (H, W, 3), uint8; drawn on in place.
        box (Sequence[float]): ``x1, y1, x2, y2`` in pixels.
        color (tuple[int, int, int]): BGR colour.
        thickness (int): Line width in pixels.
        dash (int, optional): Length of a dash and of a gap in pixels.
            Defaults to ``4 * thickness + 2``.
    """
    dash = dash or 4 * thickness + 2
    x1, y1, x2, y2 = _corners(box)
    for (ax, ay), (bx, by) in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)),
                               ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(bx - ax), abs(by - ay))
        for start in range(0, max(length, 1), 2 * dash):
            end = min(start + dash, length)
            t0, t1 = start / max(length, 1), end / max(length, 1)
            p0 = (int(round(ax + (bx - ax) * t0)),
                  int(round(ay + (by - ay) * t0)))
            p1 = (int(round(ax + (bx - ax) * t1)),
                  int(round(ay + (by - ay) * t1)))
            cv2.line(img, p0, p1, color, thickness, cv2.LINE_8)


def draw_label(img: np.ndarray,
               text: str,
               anchor: Tuple[int, int],
               color: Color,
               scale: float,
               above: bool = True) -> None:
    """Draw ``text`` on a filled tag of ``color`` in place, the tag's
    bottom-left (``above``) or top-left corner at ``anchor``, moved inside
    the image where needed.

    Args:
        img (np.ndarray): BGR image (H, W, 3), uint8; drawn on in place.
        text (str): The label.
        anchor (tuple[int, int]): ``(x, y)`` of the tag's corner.
        color (tuple[int, int, int]): BGR background colour; the text is
            black or white, whichever contrasts more.
        scale (float): OpenCV font scale.
        above (bool): The tag lies above ``anchor``, else below it.
            Defaults to True.
    """
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, scale, 1)
    h, w = img.shape[:2]
    x = min(max(int(anchor[0]), 0), max(w - tw - 2, 0))
    y = int(anchor[1]) if above else int(anchor[1]) + th + base + 2
    y = min(max(y, th + base + 2), h)
    cv2.rectangle(img, (x, y - th - base - 2), (x + tw + 2, y), color, -1)
    b, g, r = color
    ink = (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, ) * 3
    cv2.putText(img, text, (x + 1, y - base - 1), font, scale, ink, 1,
                cv2.LINE_AA)


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
    return boxes, _labels(summary, 'pair_labels', len(boxes))


def draw_selection(img: np.ndarray,
                   summary: Optional[Mapping],
                   classes: Sequence[str],
                   gt_boxes: Optional[np.ndarray] = None) -> np.ndarray:
    """Draw what a strategy saw in one image.

    Drawn in this order: ground truth (white, thin), detections
    (``det_boxes`` / ``det_labels``, thin, class colour; those that are a
    box of a pair are drawn with the pair only), then per BiB pair
    (``pair_boxes`` / ``pair_labels``) a line between the centres of the
    two boxes, the small box dashed and thin and the large box thick, both
    in the class colour, and the tags ``#i class`` (above the large box)
    and ``#i`` (below the small box).

    Args:
        img (np.ndarray): BGR image (H, W, 3), uint8; not modified.
        summary (Mapping, optional): The image's summary from the pool
            pass; missing keys are skipped.
        classes (Sequence[str]): Class names by class index.
        gt_boxes (np.ndarray, optional): Ground-truth boxes (N, 4),
            ``x1, y1, x2, y2``.

    Returns:
        np.ndarray: The drawing, a new BGR uint8 image.
    """
    out = np.ascontiguousarray(img, dtype=np.uint8).copy()
    thin, thick = line_widths(out.shape)
    scale = 0.45 * thin
    if gt_boxes is not None:
        for box in np.asarray(gt_boxes, np.float64).reshape(-1, 4):
            draw_box(out, box, GT_COLOR, thin)
    summary = summary or {}
    pair_boxes, pair_labels = pairs_of(summary)
    in_pairs = {_corners(b) for b in pair_boxes.reshape(-1, 4)}
    det_boxes = _array(summary, 'det_boxes', 4)
    if det_boxes is not None:
        det_labels = _labels(summary, 'det_labels', len(det_boxes))
        for box, label in zip(det_boxes, det_labels):
            if _corners(box) not in in_pairs:  # drawn below, as a pair
                draw_box(out, box, class_color(label), thin)
    tags = []
    for i, (boxes, label) in enumerate(zip(pair_boxes, pair_labels)):
        color = class_color(label)
        small, large = boxes[:4], boxes[4:]
        centre_s = tuple(int(round(v)) for v in (small[:2] + small[2:]) / 2)
        centre_l = tuple(int(round(v)) for v in (large[:2] + large[2:]) / 2)
        cv2.line(out, centre_s, centre_l, color, thin, cv2.LINE_AA)
        draw_dashed_box(out, small, color, thin)
        draw_box(out, large, color, thick)
        tags.append((f'#{i} {class_name(label, classes)}',
                     (large[0], large[1] - thick), color, True))
        tags.append((f'#{i}', (small[0], small[3] + thin), color, False))
    for text, anchor, color, above in tags:  # on top of all boxes
        draw_label(out, text, anchor, color, scale, above)
    return out


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
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
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
    """The config recorded in ``WORK_DIR/run.json``, or None without one."""
    path = osp.join(work_dir, RUN_RECORD)
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


def load_coco(path: str) -> dict:
    """Read a COCO json and index it.

    Args:
        path (str): The file.

    Returns:
        dict: ``images`` (id -> image dict), ``categories`` (list, file
        order) and ``boxes`` (image id -> list of ``(x1, y1, x2, y2,
        category_id)``).
    """
    data = read_json(path, 'a COCO json with "images" and "categories"')
    if not isinstance(data.get('images'), list):
        raise VisError(f'{path}: expected a COCO json with an "images" list')
    images = {}
    for img in data['images']:
        if not isinstance(img, dict) or 'id' not in img \
                or 'file_name' not in img:
            raise VisError(f'{path}: expected every image to have "id" and '
                           '"file_name"')
        images[int(img['id'])] = img
    boxes: Dict[int, list] = {}
    for ann in data.get('annotations') or []:
        bbox = ann.get('bbox')
        if not isinstance(bbox, list) or len(bbox) != 4:
            continue
        x, y, w, h = (float(v) for v in bbox)
        boxes.setdefault(int(ann['image_id']), []).append(
            (x, y, x + w, y + h, ann.get('category_id')))
    cats = data.get('categories')
    return dict(
        images=images,
        categories=cats if isinstance(cats, list) else [],
        boxes=boxes)


def find_images(ids: Sequence[int], coco: dict, img_dir: str,
                ann_file: str) -> Dict[int, str]:
    """The image file of every id, checked to exist.

    Args:
        ids (Sequence[int]): Image ids.
        coco (dict): From :func:`load_coco`.
        img_dir (str): Image folder.
        ann_file (str): The file ``coco`` came from (for messages).

    Returns:
        dict[int, str]: Image id -> path.

    Raises:
        VisError: An id is not in ``coco`` or its file is missing.
    """
    paths = {}
    for img_id in ids:
        info = coco['images'].get(int(img_id))
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


# ----------------------------------------------------------------------------
# index.html
def _fmt_score(score) -> str:
    if score is None:
        return '-'
    try:
        return f'{float(score):.4g}'
    except (TypeError, ValueError):
        return html.escape(str(score))


def _chip(label: int, classes: Sequence[str], count: int = 0) -> str:
    name = html.escape(class_name(label, classes))
    suffix = f' &times;{count}' if count > 1 else ''
    return (f'<span class="chip" style="background:'
            f'{color_hex(class_color(label))}"></span>{name}{suffix}')


def render_index(rows: Sequence[dict], classes: Sequence[str],
                 header: Mapping[str, str]) -> str:
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

    Returns:
        str: The HTML page.
    """
    used = set(range(len(classes)))
    for row in rows:
        used.update(int(x) for x in row['pair_labels'] or [])
    legend = ' '.join(f'<span class="item">{_chip(c, classes)}</span>'
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
                _chip(c, classes, n) for c, n in sorted(
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
    if cycle < 1:
        raise VisError(
            f'{osp.join(work_dir, f"cycle_{cycle}", SELECTED)}: cycle '
            f'{cycle} holds the initial random images, not an acquisition; '
            'expected --cycle >= 1')
    cdir = osp.join(work_dir, f'cycle_{cycle}')
    sel = load_selection(osp.join(cdir, SELECTED), cycle)
    if max_images is not None and max_images < 0:
        raise VisError(f'--max-images must be >= 0, got {max_images}')
    ids = sel['image_ids'][:max_images]
    config = run_config(work_dir)

    if ann_file is None:
        ann_file = osp.join(cdir, LABELED)
        if not osp.isfile(ann_file):
            ann_file = default_pool_ann_file(config) or ann_file
    coco = load_coco(ann_file)
    if img_dir is None:
        img_dir = default_img_dir(config)
        if img_dir is None:
            raise VisError(f'{osp.join(work_dir, RUN_RECORD)}: expected a run '
                           'record with the config\'s image folder; pass '
                           '--img-dir')
    paths = find_images(ids, coco, img_dir, ann_file)
    classes = config_classes(config) or [
        str(c.get('name', c.get('id'))) for c in coco['categories']
    ]

    scored_by = sel['scored_by_cycle']
    if not isinstance(scored_by, int) or isinstance(scored_by, bool):
        scored_by = cycle - 1
    shard_dir = osp.join(work_dir, f'cycle_{scored_by}', ACQ_DIR)
    try:
        summaries = read_shards(shard_dir) if osp.isdir(shard_dir) else {}
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise VisError(f'{shard_dir}: unreadable acquisition shards ({e})') \
            from None

    out_dir = out_dir or osp.join(cdir, OUT_DIR)
    width = max(3, len(str(max(len(sel['image_ids']) - 1, 0))))
    scores = sel['scores']
    rows = []
    for rank, img_id in enumerate(
            tqdm(ids, desc='drawing', unit='img', disable=not progress)):
        img = cv2.imread(paths[img_id], cv2.IMREAD_COLOR)
        if img is None:
            raise VisError(f'{paths[img_id]}: expected an image file OpenCV '
                           f'can read (image {img_id})')
        summary = summaries.get(img_id)
        gt = None
        if show_gt:
            gt = np.array([b[:4] for b in coco['boxes'].get(img_id, [])],
                          np.float64).reshape(-1, 4)
        zoom = max(1.0, min_size / min(img.shape[:2])) if min_size else 1.0
        if zoom > 1:
            img = cv2.resize(
                img, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
            summary = zoomed(summary, zoom)
            gt = None if gt is None else gt * zoom
        drawing = draw_selection(img, summary, classes, gt)
        name = f'{rank:0{width}d}_{img_id}.png'
        write_png(drawing, osp.join(out_dir, name))
        det = None if summary is None else _array(summary, 'det_boxes', 4)
        has_pairs = summary is not None and 'pair_boxes' in summary
        rows.append(
            dict(
                file=name,
                rank=rank,
                image_id=img_id,
                file_name=coco['images'][img_id]['file_name'],
                score=None if scores is None else scores[rank],
                num_dets=None if det is None else len(det),
                pair_labels=pairs_of(summary)[1].tolist()
                if has_pairs else None))
    strategy = sel['strategy'].get('type', '?')
    header = {
        'title': f'cycle {cycle}: {strategy} selection',
        'work dir': osp.abspath(work_dir),
        'strategy': json.dumps(sel['strategy'], sort_keys=True),
        'scored by cycle': scored_by,
        'images': f'{len(rows)} drawn of {len(sel["image_ids"])} selected',
        'summaries': shard_dir if summaries else
        f'none ({shard_dir} missing or empty: boxes not drawn)',
        'images from': f'{img_dir} ({ann_file})',
    }
    index = osp.join(out_dir, INDEX)
    atomic_write_text(render_index(rows, classes, header), index)
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
