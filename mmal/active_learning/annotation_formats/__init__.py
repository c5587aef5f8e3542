"""Files of annotation tools: a cycle's request in the tool's import format
and the tool's export read back (see ``docs/annotation.md``)."""
from .answer_matching import MatchedAnswer, image_path_of, match_answer
from .base_format import (AnnotationFormatError, AnnotationRequest, AnswerBox,
                          AnswerEntry, BaseAnnotationFormat, Detection,
                          RequestImage)
from .coco_format import CocoFormat
from .cvat_coco_format import CvatCocoFormat
from .image_reference import ImageReference
from .label_studio_format import LabelStudioFormat
from .pre_annotations import recorded_detections, selection_scores

__all__ = [
    'AnnotationFormatError', 'AnnotationRequest', 'AnswerBox', 'AnswerEntry',
    'BaseAnnotationFormat', 'CocoFormat', 'CvatCocoFormat', 'Detection',
    'ImageReference', 'LabelStudioFormat', 'MatchedAnswer', 'RequestImage',
    'image_path_of', 'match_answer', 'recorded_detections', 'selection_scores'
]
