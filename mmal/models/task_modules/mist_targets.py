"""Training targets of the MIST refinement heads, vectorised over proposals.

* :func:`mist_pseudo_boxes` mines pseudo ground truth from one head's
  proposal scores (MIST, Ren et al. CVPR 2020, as in wetectron's code).
* :func:`assign_proposals` gives each proposal the class and weight of the
  pseudo box (or ground-truth box) it overlaps most.
* :func:`difs_sample` is BiB's difficulty-aware proposal sampling for fully
  annotated images.
"""
import math
from typing import NamedTuple, Optional

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor


class PseudoBoxes(NamedTuple):
    """Pseudo ground truth of one image: proposal ``boxes`` (P, 4), class
    ``labels`` (P,) in ``[0, C)``, ``weights`` (P,) (the class score of the
    proposal) and ``inds`` (P,) (the proposal indices)."""
    boxes: Tensor
    labels: Tensor
    weights: Tensor
    inds: Tensor


class Assignment(NamedTuple):
    """Per proposal: ``labels`` (N,) in ``[0, C]`` (C is background),
    ``weights`` (N,), ``gt_inds`` (N,) (index of the matched box, -1 when
    there is none) and ``max_iou`` (N,)."""
    labels: Tensor
    weights: Tensor
    gt_inds: Tensor
    max_iou: Tensor


def mist_pseudo_boxes(proposals: Tensor,
                      scores: Tensor,
                      pos_classes: Tensor,
                      top_ratio: float = 0.15,
                      iou_thr: float = 0.2) -> PseudoBoxes:
    """MIST pseudo boxes of one image.

    For every positive class: rank the proposals by that class's score
    (ties: lower proposal index first), take the top
    ``ceil(top_ratio * N)`` (at least one), and keep a candidate only if
    its IoU with every higher-ranked candidate, kept or not, is below
    ``iou_thr``. The top candidate is always kept.

    Args:
        proposals (Tensor): (N, 4) boxes.
        scores (Tensor): (N, C) class scores (background excluded).
        pos_classes (Tensor): (K,) the image's positive classes.
        top_ratio (float): Fraction of proposals that are candidates.
            Defaults to 0.15.
        iou_thr (float): Overlap that removes a lower-ranked candidate.
            Defaults to 0.2.

    Returns:
        PseudoBoxes: Grouped by class in the order of ``pos_classes``, each
        class's boxes by decreasing score.
    """
    num = proposals.shape[0]
    pos_classes = pos_classes.long().reshape(-1)
    if num == 0 or pos_classes.numel() == 0:
        empty = proposals.new_zeros((0, ))
        return PseudoBoxes(
            proposals.new_zeros((0, 4)), pos_classes.new_zeros(0), empty,
            pos_classes.new_zeros(0))
    k = min(num, max(1, math.ceil(top_ratio * num - 1e-9)))
    cls_scores = scores[:, pos_classes].t()  # (K, N)
    order = torch.sort(cls_scores, dim=1, descending=True, stable=True)[1]
    cand = order[:, :k]  # (K, k)
    boxes = proposals[cand]  # (K, k, 4)
    ious = bbox_overlaps(boxes, boxes)  # (K, k, k)
    # ious[:, i, j] with i < j: candidate j against a higher-ranked i.
    keep = torch.triu(ious, diagonal=1).amax(dim=1) < iou_thr
    keep[:, 0] = True
    cls_idx, rank = keep.nonzero(as_tuple=True)
    inds = cand[cls_idx, rank]
    labels = pos_classes[cls_idx]
    return PseudoBoxes(proposals[inds], labels, scores[inds, labels], inds)


def assign_proposals(proposals: Tensor,
                     gt_boxes: Tensor,
                     gt_labels: Tensor,
                     gt_weights: Optional[Tensor],
                     num_classes: int,
                     fg_iou: float = 0.5) -> Assignment:
    """Assign each proposal to the box it overlaps most.

    A proposal whose best IoU is at least ``fg_iou`` takes that box's
    class, any other proposal is background (class ``num_classes``); both
    take that box's weight (1 when ``gt_weights`` is None). Equal IoUs go
    to the lower box index.

    Args:
        proposals (Tensor): (N, 4).
        gt_boxes (Tensor): (G, 4), G >= 1.
        gt_labels (Tensor): (G,) in ``[0, num_classes)``.
        gt_weights (Tensor, optional): (G,).
        num_classes (int): C; background is C.
        fg_iou (float): Foreground threshold. Defaults to 0.5.

    Returns:
        Assignment
    """
    ious = bbox_overlaps(proposals, gt_boxes)  # (N, G)
    max_iou, gt_inds = ious.max(dim=1)
    fg = max_iou >= fg_iou
    labels = torch.where(fg, gt_labels[gt_inds].long(),
                         torch.full_like(gt_inds, num_classes))
    if gt_weights is None:
        weights = proposals.new_ones(proposals.shape[0])
    else:
        weights = gt_weights[gt_inds]
    return Assignment(labels, weights, gt_inds, max_iou)


def difs_sample(max_iou: Tensor,
                hardness: Tensor,
                num: int = 512,
                pos_fraction: float = 0.25,
                pos_iou: float = 0.5,
                neg_iou: float = 0.3,
                generator: Optional[torch.Generator] = None) -> Tensor:
    """Difficulty-aware proposal sampling (BiB) for a fully annotated image.

    Positives (IoU >= ``pos_iou`` with a ground-truth box) are drawn at
    random, up to ``pos_fraction * num``; negatives (IoU < ``neg_iou``) fill
    the rest of ``num`` and are the ones the detector finds hardest: the
    highest ``hardness`` (its best non-background probability), ties to the
    lower index. Proposals in between are never sampled.

    Args:
        max_iou (Tensor): (N,) best IoU of each proposal with the image's
            ground-truth boxes.
        hardness (Tensor): (N,) score of each proposal.
        num (int): Sample size. Defaults to 512.
        pos_fraction (float): Largest fraction of positives. Defaults to
            0.25.
        pos_iou (float): Positive threshold. Defaults to 0.5.
        neg_iou (float): Negatives lie strictly below it. Defaults to 0.3.
        generator (torch.Generator, optional): Source of the positives'
            draw; the global torch RNG (seeded by mmengine) when None.

    Returns:
        Tensor: Indices of the sampled proposals, positives first.
    """
    pos = (max_iou >= pos_iou).nonzero(as_tuple=True)[0]
    neg = (max_iou < neg_iou).nonzero(as_tuple=True)[0]
    num_pos = min(pos.numel(), int(num * pos_fraction))
    if num_pos < pos.numel():
        perm = torch.randperm(
            pos.numel(), generator=generator, device='cpu').to(pos.device)
        pos = pos[perm[:num_pos]]
    num_neg = min(neg.numel(), num - num_pos)
    order = torch.sort(
        hardness[neg], descending=True, stable=True)[1][:num_neg]
    return torch.cat([pos, neg[order]])
