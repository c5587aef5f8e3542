"""Planted cases for MIST's pseudo boxes, proposal assignment and DifS."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmal.models.task_modules import (assign_proposals, difs_sample,
                                      mist_pseudo_boxes)


def _boxes(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def _pool(extra: int = 17):
    """A, B, C then ``extra`` low-scored far-away filler proposals.

    IoU(A, B) = 0.33, IoU(B, C) = 0.33, IoU(A, C) = 0.
    """
    a, b, c = [0, 0, 20, 20], [10, 0, 30, 20], [20, 0, 40, 20]
    filler = [[100 + 3 * i, 100, 110 + 3 * i, 110] for i in range(extra)]
    return _boxes(a, b, c, *filler)


def test_pseudo_boxes_drop_candidates_overlapping_any_higher_ranked():
    proposals = _pool()  # N = 20: the top ceil(0.15 * 20) = 3 are A, B, C
    scores = torch.zeros(20, 2)
    scores[:3, 1] = torch.tensor([0.9, 0.8, 0.7])
    pseudo = mist_pseudo_boxes(proposals, scores, torch.tensor([1]))
    # B overlaps A: dropped. C overlaps only B, which was dropped, and is
    # still dropped: the rule compares with every higher-ranked candidate.
    assert pseudo.inds.tolist() == [0]
    assert pseudo.labels.tolist() == [1]
    torch.testing.assert_close(pseudo.weights, torch.tensor([0.9]))
    torch.testing.assert_close(pseudo.boxes, proposals[:1])


def test_pseudo_boxes_keep_separate_candidates_with_their_scores():
    proposals = _pool()
    scores = torch.zeros(20, 3)
    # Class 2: A and C (no overlap) on top, then filler 3 (far away).
    scores[[0, 2, 3], 2] = torch.tensor([0.6, 0.5, 0.4])
    scores[1, 0] = 0.7
    pseudo = mist_pseudo_boxes(proposals, scores, torch.tensor([0, 2]))
    assert pseudo.labels.tolist() == [0, 2, 2, 2]
    assert pseudo.inds.tolist() == [1, 0, 2, 3]
    torch.testing.assert_close(pseudo.weights,
                               torch.tensor([0.7, 0.6, 0.5, 0.4]))


def test_pseudo_boxes_at_least_one_with_few_proposals():
    proposals = _boxes([0, 0, 10, 10], [50, 50, 60, 60])
    scores = torch.tensor([[0.2], [0.3]])
    pseudo = mist_pseudo_boxes(proposals, scores, torch.tensor([0]))
    assert pseudo.inds.tolist() == [1]  # ceil(0.15 * 2) = 1
    one = mist_pseudo_boxes(proposals[:1], scores[:1], torch.tensor([0]))
    assert one.inds.tolist() == [0]


def test_pseudo_boxes_ties_go_to_the_lower_index():
    proposals = _pool()
    scores = torch.full((20, 1), 0.5)  # all equal: A, B, C are the top 3
    pseudo = mist_pseudo_boxes(proposals, scores, torch.tensor([0]))
    assert pseudo.inds.tolist() == [0]
    scores[5] = 0.5  # still tied: filler 2 (index 5) does not jump ahead
    assert mist_pseudo_boxes(proposals, scores,
                             torch.tensor([0])).inds.tolist() == [0]


def test_pseudo_boxes_empty_without_positive_class():
    pseudo = mist_pseudo_boxes(_pool(), torch.rand(20, 4),
                               torch.tensor([], dtype=torch.long))
    assert pseudo.boxes.shape == (0, 4) and pseudo.labels.numel() == 0


def test_assignment_threshold_weights_and_ties():
    gt = _boxes([0, 0, 10, 10], [0, 0, 10, 10], [40, 40, 60, 60])
    labels = torch.tensor([2, 0, 1])
    weights = torch.tensor([0.7, 0.9, 0.4])
    proposals = _boxes(
        [0, 0, 10, 10],  # IoU 1 with gt 0 and 1: the tie goes to gt 0
        [0, 0, 10, 20],  # IoU exactly 0.5 with gt 0: foreground
        [0, 0, 10, 20.5],  # IoU 0.4938: background, still weight 0.7
        [40, 40, 60, 60],  # gt 2
        [100, 100, 110, 110])  # no overlap: background of gt 0, weight 0.7
    out = assign_proposals(proposals, gt, labels, weights, num_classes=3)
    assert out.labels.tolist() == [2, 2, 3, 1, 3]
    assert out.gt_inds.tolist() == [0, 0, 0, 2, 0]
    torch.testing.assert_close(out.weights,
                               torch.tensor([0.7, 0.7, 0.7, 0.4, 0.7]))
    plain = assign_proposals(proposals, gt, labels, None, num_classes=3)
    torch.testing.assert_close(plain.weights, torch.ones(5))


def test_difs_sample_planted():
    # 10 positives, 4 ignored (0.3 <= IoU < 0.5), 30 negatives.
    max_iou = torch.cat([
        torch.full((10, ), 0.8),
        torch.tensor([0.3, 0.35, 0.4, 0.49]),
        torch.linspace(0, 0.29, 30)
    ])
    hardness = torch.rand(44, generator=torch.Generator().manual_seed(0))
    keep = difs_sample(max_iou, hardness, num=16, pos_fraction=0.25)
    assert keep.numel() == 16
    pos, neg = keep[:4], keep[4:]
    assert (max_iou[pos] >= 0.5).all()
    assert (max_iou[neg] < 0.3).all()
    negatives = torch.arange(14, 44)
    top = negatives[hardness[14:].argsort(descending=True)[:12]]
    assert sorted(neg.tolist()) == sorted(top.tolist())


@settings(max_examples=60, deadline=None)
@given(
    num_props=st.integers(1, 120),
    num=st.integers(1, 64),
    frac=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31 - 1))
def test_difs_sample_properties(num_props, num, frac, seed):
    g = torch.Generator().manual_seed(seed)
    max_iou = torch.rand(num_props, generator=g)
    hardness = torch.rand(num_props, generator=g)
    keep = difs_sample(
        max_iou, hardness, num=num, pos_fraction=frac, generator=g)
    pos = max_iou >= 0.5
    neg = max_iou < 0.3
    assert keep.unique().numel() == keep.numel() <= num
    assert not ((max_iou[keep] >= 0.3) & (max_iou[keep] < 0.5)).any()
    num_pos = int(pos[keep].sum())
    assert num_pos == min(int(pos.sum()), int(num * frac))
    assert int(neg[keep].sum()) == min(int(neg.sum()), num - num_pos)
    # The kept negatives are the hardest ones.
    kept_neg = keep[neg[keep]]
    if kept_neg.numel() and kept_neg.numel() < int(neg.sum()):
        dropped = neg.clone()
        dropped[kept_neg] = False
        assert hardness[kept_neg].min() >= hardness[dropped].max()
