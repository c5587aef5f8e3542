"""What an annotation format writes and reads.

A format (registered in ``ANNOTATION_FORMATS``) turns a cycle's request,
an :class:`AnnotationRequest`, into the files an annotation tool imports
(:meth:`BaseAnnotationFormat.export`), and reads what that tool exports
back into :class:`AnswerEntry` records (:meth:`BaseAnnotationFormat.parse`)
that :mod:`.answer_matching` matches to the request by file name, with
categories matched by name. Formats know the file layout of one tool;
they do not check the answer against the pool.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple


class AnnotationFormatError(ValueError):
    """A file of an annotation tool is not what its format says; the
    message names the file and the entry."""


@dataclass
class Detection:
    """One detection of the current model, as a pre-annotation.

    Attributes:
        label (str): Category name.
        bbox (tuple): ``(x, y, w, h)`` in pixels of the original image.
        score (float): The detector's score.
    """
    label: str
    bbox: Tuple[float, float, float, float]
    score: float


@dataclass
class RequestImage:
    """One image to annotate.

    Attributes:
        id (int): Pool image id.
        file_name (str): The pool's ``file_name``.
        width (int): Width in pixels.
        height (int): Height in pixels.
        ref (str): How the tool reaches the image (see
            :class:`.ImageReference`).
        score (float, optional): The acquisition score, where the strategy
            gives one.
        detections (list, optional): The current model's detections,
            where they were recorded; None where they were not.
    """
    id: int
    file_name: str
    width: int
    height: int
    ref: str
    score: Optional[float] = None
    detections: Optional[List[Detection]] = None


@dataclass
class AnnotationRequest:
    """A cycle's request: the images and the category names to draw.

    Attributes:
        images (list): :class:`RequestImage` in pick order.
        categories (list): The pool's categories (``id``, ``name``).
        model_version (str): Names the model that made the detections.
    """
    images: List[RequestImage]
    categories: List[dict]
    model_version: str = ''

    @property
    def names(self) -> List[str]:
        return [c['name'] for c in self.categories]


@dataclass
class AnswerBox:
    """A box an annotator drew.

    Attributes:
        label (str): Category name as the tool wrote it.
        bbox (tuple): ``(x, y, w, h)`` in pixels.
        where (str): The entry, for error messages.
    """
    label: str
    bbox: Tuple[float, float, float, float]
    where: str


@dataclass
class AnswerEntry:
    """One image of an export.

    Attributes:
        file_name (str): The image's file name as the tool wrote it (a
            path, a URL, or Label Studio's ``/data/...`` reference).
        where (str): The entry (e.g. ``task 3``), for error messages.
        finished (bool): Whether an annotator submitted it (COCO exports
            cannot say otherwise: always True).
        boxes (list): :class:`AnswerBox` of the image.
        size (tuple, optional): ``(width, height)`` the tool saw.
        explicit_empty (bool): Whether the tool records an answer with no
            box (a Label Studio annotation with an empty result), as
            opposed to a format that cannot tell (COCO).
    """
    file_name: str
    where: str
    finished: bool = True
    boxes: List[AnswerBox] = field(default_factory=list)
    size: Optional[Tuple[float, float]] = None
    explicit_empty: bool = False


class BaseAnnotationFormat:
    """An annotation tool's import and export files.

    Subclasses set :attr:`name` and implement :meth:`export` and
    :meth:`parse`.
    """

    #: Shown in messages and docs.
    name = 'annotation format'
    #: Whether the request shows the current model's detections (the
    #: acquisition pass then keeps them with its summaries).
    uses_detections = False

    def export(self, request: AnnotationRequest) -> Dict[str, object]:
        """The files to write into the cycle folder: file name -> json
        object (or str for text)."""
        raise NotImplementedError

    def can_parse(self, data: object) -> bool:
        """Whether parsed json ``data`` has this format's shape."""
        return False

    def parse(self, data: object, path: str) -> List[AnswerEntry]:
        """The entries of a parsed export file.

        Raises:
            AnnotationFormatError: ``data`` is not this format.
        """
        raise NotImplementedError

    def describe_request(self, written: Sequence[str]) -> str:
        """How to use the written files, for the loop's message."""
        return f'import {", ".join(written)} into the tool'
