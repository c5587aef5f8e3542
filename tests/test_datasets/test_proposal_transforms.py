"""Cleaning proposals: the array functions and the ``CleanProposals``
pipeline transform."""
import numpy as np

from mmal.datasets.transforms import (CleanProposals, apply_clean,
                                      clean_proposals, clip_boxes)


def test_clip_boxes():
    boxes = np.array([[-5, 3, 120, 60], [10, -1, 20, 30]], np.float32)
    out = clip_boxes(boxes, (50, 100, 3))
    np.testing.assert_array_equal(out, [[0, 3, 100, 50], [10, 0, 20, 30]])
    assert out.dtype == np.float64
    assert boxes[0, 0] == -5  # a copy


def test_clean_proposals_planted():
    boxes = np.array([
        [-5, -5, 20, 20],  # 0 clipped to 0 0 20 20: kept
        [10, 10, 12, 30],  # 1 width exactly 2: kept
        [10, 10, 11.9, 30],  # 2 width 1.9: dropped
        [0.2, 0.1, 20.3, 19.8],  # 3 rounds to box 0: dropped
        [90, 40, 150, 80],  # 4 clipped to 90 40 100 50: kept
        [120, 10, 130, 20],  # 5 outside (width 0 after clipping): dropped
        [30, 30, 40, 45],  # 6 kept
        [30.4, 30, 40, 45],  # 7 rounds to box 6: dropped
        [5, 5, 25, 25],  # 8 kept
        [30, 30, 40, 45],  # 9 exact copy of 6: dropped
        [40, 49, 60, 60],  # 10 height 1 after clipping: dropped
    ])
    keep = clean_proposals(boxes, (50, 100))
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(keep, [0, 1, 4, 6, 8])
    np.testing.assert_array_equal(
        clean_proposals(boxes, (50, 100), min_size=10), [0, 4, 6, 8])
    assert clean_proposals(np.zeros((0, 4)), (10, 10)).shape == (0, )
    # duplicates keep the first occurrence, whatever the sort order
    twin = np.array([[5, 5, 9, 9], [1, 1, 4, 4], [5.2, 5, 9, 9]])
    np.testing.assert_array_equal(clean_proposals(twin, (20, 20)), [0, 1])
    twin = np.array([[5.2, 5, 9, 9], [1, 1, 4, 4], [5, 5, 9, 9]])
    np.testing.assert_array_equal(clean_proposals(twin, (20, 20)), [0, 1])


def test_apply_clean():
    boxes = np.array([[-5, -5, 20, 20], [10, 10, 11, 30], [90, 40, 150, 80]])
    out, scores = apply_clean(boxes, np.array([0.1, 0.2, 0.3]), (50, 100))
    np.testing.assert_array_equal(out, [[0, 0, 20, 20], [90, 40, 100, 50]])
    np.testing.assert_allclose(scores, [0.1, 0.3], rtol=1e-6)
    assert out.dtype == np.float32 and scores.dtype == np.float32
    assert apply_clean(boxes, None, (50, 100))[1] is None


def test_clean_proposals_transform():
    t = CleanProposals(min_size=2)
    results = dict(
        img_shape=(50, 60),
        proposals=np.array([[-5, -5, 20, 20], [-5, -5, 20, 20],
                            [10, 10, 11, 30], [50, 40, 90, 80]],
                           dtype=np.float32),
        proposals_scores=np.array([0.9, 0.8, 0.7, 0.6], np.float32))
    out = t(results)
    np.testing.assert_array_equal(out['proposals'],
                                  [[0, 0, 20, 20], [50, 40, 60, 50]])
    np.testing.assert_allclose(out['proposals_scores'], [0.9, 0.6])
    empty = t(
        dict(
            img_shape=(50, 60), proposals=np.array([[1, 1, 2, 2]],
                                                   np.float32)))
    np.testing.assert_array_equal(empty['proposals'], [[0, 0, 60, 50]])
