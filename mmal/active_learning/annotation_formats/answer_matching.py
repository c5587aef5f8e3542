"""Match what an annotation tool exported to a cycle's request.

Images are matched by file name (the tools rename and prefix them: Label
Studio's ``/data/local-files/?d=...`` and ``/data/upload/1/3f2a1b2c-x.jpg``,
its COCO export's ``images/x.jpg``, CVAT's base names), categories by
name. Every error names the export file and the entry.
"""
import os.path as osp
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..pool import SplitError
from .base_format import AnswerEntry, RequestImage
from .image_reference import LABEL_STUDIO_LOCAL_FILES

#: Label Studio prefixes uploaded files with 8 hex digits and a dash.
_UPLOAD_PREFIX = re.compile(r'^[0-9a-f]{8}-')
#: How the partial-campaign choice is spelled in ``al.oracle.partial``.
PARTIAL = ('wait', 'accept')
#: Pixels a box may stick out of its image (as for the pool).
TOLERANCE = 1.0
#: Box ids of one image: ``base + image_id * PER_IMAGE + n``.
PER_IMAGE = 100000


def image_path_of(ref: str) -> str:
    """The path inside a tool's image reference (URL, Label Studio
    local-files or upload path, plain path), URL-unquoted."""
    if ref.startswith(LABEL_STUDIO_LOCAL_FILES):
        ref = ref[len(LABEL_STUDIO_LOCAL_FILES):]
    else:
        parsed = urllib.parse.urlparse(ref)
        query = urllib.parse.parse_qs(parsed.query)
        # local storage (?d=...), Label Studio's storage proxy (?filepath=)
        for key in ('d', 'filepath'):
            if key in query:
                ref = query[key][0]
                break
        else:
            ref = parsed.path
    return urllib.parse.unquote(ref).replace('\\', '/')


def _names(path: str) -> List[str]:
    base = osp.basename(path)
    stripped = _UPLOAD_PREFIX.sub('', base)
    return [base] if stripped == base else [base, stripped]


@dataclass
class MatchedAnswer:
    """The result of :func:`match_answer`.

    Attributes:
        annotations (dict): Accepted image id -> COCO annotations.
        unfinished (list): Requested image ids not (yet) annotated.
    """
    annotations: Dict[int, List[dict]]
    unfinished: List[int] = field(default_factory=list)


class _Index:
    """Request images by exported reference, path suffix and base name."""

    def __init__(self, images: Sequence[RequestImage]):
        self.by_ref = {img.ref: img for img in images}
        self.images = list(images)

    def find(self, name: str, where: str) -> Optional[RequestImage]:
        if name in self.by_ref:
            return self.by_ref[name]
        path = image_path_of(name)
        hits = [
            img for img in self.images
            if path == img.file_name or path.endswith('/' + img.file_name)
        ]
        if not hits:
            names = set(_names(path))
            hits = [
                img for img in self.images
                if osp.basename(img.file_name) in names
            ]
        if len(hits) > 1:
            raise SplitError(
                f'{where}: the file name matches {len(hits)} requested '
                f'images ({[h.file_name for h in hits][:5]}); export with '
                'the full relative paths')
        return hits[0] if hits else None


def match_answer(entries: Sequence[AnswerEntry],
                 images: Sequence[RequestImage],
                 categories: Sequence[dict],
                 path: str,
                 partial: str = 'wait',
                 allow_empty_images: bool = False,
                 first_ann_id: int = 1) -> MatchedAnswer:
    """The COCO annotations of the requested ``images`` in ``entries``.

    Args:
        entries (Sequence[AnswerEntry]): A parsed export.
        images (Sequence[RequestImage]): The request.
        categories (Sequence[dict]): The pool's categories.
        path (str): The export file, for errors.
        partial (str): ``'wait'``: every requested image must be
            finished; ``'accept'``: the finished ones are taken and the
            others listed in :attr:`MatchedAnswer.unfinished`.
        allow_empty_images (bool): Accept a submitted annotation without
            boxes (an image without objects). Defaults to False.
        first_ann_id (int): The smallest annotation id to give (above the
            pool's own).

    Raises:
        SplitError: The export does not answer the request; nothing is
            returned.
    """
    if partial not in PARTIAL:
        raise SplitError(f'al.oracle.partial {partial!r}: expected one of '
                         f'{list(PARTIAL)}')
    index = _Index(images)
    cat_id = {c['name']: c['id'] for c in categories}
    seen: Dict[int, AnswerEntry] = {}
    anns: Dict[int, List[dict]] = {}
    for entry in entries:
        img = index.find(entry.file_name, entry.where)
        if img is None:
            raise SplitError(
                f'{entry.where}: this image was not requested in this cycle '
                f'(requested: {[i.file_name for i in images][:5]}'
                f'{" ..." if len(images) > 5 else ""}); export only the '
                "cycle's tasks")
        if img.id in seen:
            raise SplitError(
                f'{entry.where}: image {img.file_name} is annotated twice '
                f'(also {_short(seen[img.id].where, path)}): duplicate '
                'annotations')
        seen[img.id] = entry
        if entry.finished:
            anns[img.id] = _annotations(entry, img, cat_id, allow_empty_images,
                                        first_ann_id, path)
    unfinished = [img.id for img in images if img.id not in anns]
    if unfinished:
        names = [i.file_name for i in images if i.id in set(unfinished)]
        if partial == 'wait':
            raise SplitError(
                f'{path}: {len(unfinished)} of the {len(images)} requested '
                f'images are not annotated yet (missing or without a '
                f'submitted annotation: {names[:5]}'
                f'{" ..." if len(names) > 5 else ""}); finish them and '
                "export again, or set al.oracle.partial='accept' to take "
                'the finished ones')
        if not anns:
            raise SplitError(f'{path}: none of the {len(images)} requested '
                             'images is annotated yet')
    return MatchedAnswer(anns, unfinished)


def _short(where: str, path: str) -> str:
    """An entry's name without the file it is in."""
    return where[len(path) + 2:] if where.startswith(path + ': ') else where


def _annotations(entry: AnswerEntry, img: RequestImage, cat_id: dict,
                 allow_empty: bool, first_ann_id: int,
                 path: str) -> List[dict]:
    if entry.size is not None and (abs(entry.size[0] - img.width) > TOLERANCE
                                   or abs(entry.size[1] - img.height)
                                   > TOLERANCE):
        raise SplitError(
            f'{entry.where}: the tool saw the image as {entry.size[0]:g}x'
            f'{entry.size[1]:g}, the pool says {img.width}x{img.height} '
            f'({img.file_name}); annotate the original images')
    if entry.explicit_empty and not allow_empty:
        raise SplitError(
            f'{entry.where}: the submitted annotation has no boxes (an empty '
            'annotation); draw the objects, or set '
            'al.oracle.allow_empty_images=True if the image has none')
    out, keys = [], {}
    for n, box in enumerate(entry.boxes):
        if box.label not in cat_id:
            raise SplitError(f'{box.where}: unknown label {box.label!r}; the '
                             f'pool\'s categories are {sorted(cat_id)}')
        x, y, w, h = box.bbox
        if w <= 0 or h <= 0:
            raise SplitError(f'{box.where}: empty box {list(box.bbox)} '
                             '(x, y, w, h): width and height must be > 0')
        if (x < -TOLERANCE or y < -TOLERANCE or x + w > img.width + TOLERANCE
                or y + h > img.height + TOLERANCE):
            raise SplitError(
                f'{box.where}: box {[round(v, 2) for v in box.bbox]} (x, y, '
                f'w, h, pixels) is not inside the image ({img.width}x'
                f'{img.height})')
        key = (box.label, ) + tuple(round(v, 1) for v in box.bbox)
        if key in keys:
            raise SplitError(f'{box.where}: the same {box.label!r} box as '
                             f'{_short(keys[key], path)}: duplicate '
                             'annotation')
        keys[key] = box.where
        if n >= PER_IMAGE:
            raise SplitError(f'{entry.where}: more than {PER_IMAGE} boxes')
        # clip the tolerated overhang so the split files stay valid
        x0, y0 = max(x, 0.0), max(y, 0.0)
        x1, y1 = min(x + w, float(img.width)), min(y + h, float(img.height))
        out.append(
            dict(
                id=first_ann_id + img.id * PER_IMAGE + n,
                image_id=img.id,
                category_id=cat_id[box.label],
                bbox=[x0, y0, x1 - x0, y1 - y0],
                area=(x1 - x0) * (y1 - y0),
                iscrowd=0))
    return out
