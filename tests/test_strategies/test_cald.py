"""CALD: an inconsistent image ranks above a consistent one (stage 1), and
among the candidates the class distribution farthest from the labeled
set's goes first (stage 2)."""
import numpy as np
import pytest

from mmal.apis import select_images

C = 3


def cald_image(label, p, view_iou, view_p, view_label=None):
    """One detection of class ``label`` with distribution ``p``; in each
    of the two views the best match has IoU ``view_iou``, distribution
    ``view_p``."""
    p = np.asarray(p, np.float64)
    q = np.asarray(view_p, np.float64)
    vl = label if view_label is None else view_label
    cls = np.zeros(C)
    cls[vl] = q[:C].max()
    return dict(
        scores=np.array([p[:C].max()]),
        labels=np.array([label]),
        cls_probs=p[None],
        pass_ious=np.full((2, 1), view_iou),
        pass_cls_probs=np.tile(q, (2, 1, 1)),
        pass_class_scores=np.tile(cls, (2, 1)))


SURE = [0.9, 0.04, 0.03, 0.03]


def test_inconsistent_image_ranks_above_consistent_one():
    consistent = cald_image(0, SURE, 1.0, SURE)  # value |1.9 - 1.3| = 0.6
    # the view moves the box (IoU 0.6) and changes its mind
    inconsistent = cald_image(0, SURE, 0.6, [0.5, 0.3, 0.1, 0.1])
    pool = {1: consistent, 2: inconsistent}
    labeled = {0: np.array([0, 1, 2])}
    sel = select_images(
        dict(type='cald', candidate_ratio=1.0),
        pool,
        1,
        labeled=labeled,
        num_classes=C)
    assert sel.ids.tolist() == [2]
    assert sel.extra == dict(candidates=1, forward_passes_per_image=3)


def test_stage_two_prefers_classes_far_from_the_labeled_set():
    # equally (in)consistent images of class 0 and class 2; the labeled
    # set is mostly class 0, so class 2 is the farther distribution
    pool = {i: cald_image(0, SURE, 1.0, SURE) for i in (1, 2)}
    pool[3] = cald_image(2, np.roll(SURE, 2), 1.0, np.roll(SURE, 2))
    labeled = {0: np.array([0, 0, 0]), 9: np.array([0, 1])}
    sel = select_images(
        dict(type='cald', candidate_ratio=3.0),
        pool,
        1,
        labeled=labeled,
        num_classes=C)
    assert sel.ids.tolist() == [3]
    assert sel.extra['candidates'] == 3
    # an image without any detection scores 0 in stage 1 and has a zero
    # class vector: it comes first (as in the released code)
    pool[4] = dict(
        scores=np.zeros(0),
        labels=np.zeros(0, int),
        cls_probs=np.zeros((0, C + 1)),
        pass_ious=np.zeros((2, 0)),
        pass_cls_probs=np.zeros((2, 0, C + 1)),
        pass_class_scores=np.zeros((2, C)))
    sel = select_images(
        dict(type='cald', candidate_ratio=3.0),
        pool,
        2,
        labeled=labeled,
        num_classes=C)
    assert sel.ids.tolist() == [4, 3]


def test_bad_settings_are_refused():
    with pytest.raises(Exception, match='candidate_ratio'):
        select_images(dict(type='cald', candidate_ratio=0.5), {}, 1)
