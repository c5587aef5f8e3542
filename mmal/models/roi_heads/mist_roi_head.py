"""The RoI head of MIST (Ren et al., CVPR 2020): a WSDDN multiple-instance
branch and K online-refinement branches trained from MIST pseudo boxes, with
BiB's mixed supervision (fully annotated images train the refinement
branches as plain Fast R-CNN heads). See ``docs/models/mist.md``."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads import BaseRoIHead
from mmdet.structures.bbox import bbox2roi, get_box_tensor, scale_boxes
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmal.models.probes.field_provider import IMAGE_FIELDS_KEY, QUERY_BOXES_KEY
from mmal.models.task_modules.mist_targets import (assign_proposals,
                                                   difs_sample,
                                                   mist_pseudo_boxes)
from mmal.registry import MODELS, TASK_UTILS

DEFAULT_TRAIN_CFG = dict(
    top_ratio=0.15,
    pseudo_iou_thr=0.2,
    fg_iou=0.5,
    mil_loss_weight=1.0,
    refine_loss_weights=(3.0, 1.0, 1.0),
    reg_loss_weight=1.0,
    mil_eps=1e-6,
    difs=dict(num=512, pos_fraction=0.25, pos_iou=0.5, neg_iou=0.3))
DEFAULT_TEST_CFG = dict(
    score_thr=1e-4, nms=dict(type='nms', iou_threshold=0.3), max_per_img=100)


@MODELS.register_module()
class MISTBBoxHead(BaseModule):
    """fc6 / fc7 over pooled RoI features, then a WSDDN branch and K
    refinement branches.

    Args:
        num_classes (int): C, without background.
        in_channels (int): Channels of the RoI features. Defaults to 512.
        roi_feat_size (int): Side of the RoI features. Defaults to 7.
        fc_out_channels (int): Width of fc6 / fc7. Defaults to 4096.
        dropout (float): Dropout after fc6 and fc7. Defaults to 0.5.
        num_refine (int): K, the refinement branches. Defaults to 3.
        bbox_coder (dict): Box coder of the refinement branches' deltas.
            Defaults to deltas with stds (0.1, 0.1, 0.2, 0.2).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 512,
                 roi_feat_size: int = 7,
                 fc_out_channels: int = 4096,
                 dropout: float = 0.5,
                 num_refine: int = 3,
                 bbox_coder: dict = dict(
                     type='DeltaXYWHBBoxCoder',
                     target_means=(0., 0., 0., 0.),
                     target_stds=(0.1, 0.1, 0.2, 0.2)),
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Normal',
                    std=0.01,
                    override=[
                        dict(name='mil_cls'),
                        dict(name='mil_det'),
                        dict(name='refine_cls')
                    ]),
                dict(
                    type='Normal', std=0.001, override=dict(name='refine_reg'))
            ]
        super().__init__(init_cfg=init_cfg)
        if num_refine < 1:
            raise ValueError(f'num_refine must be >= 1, got {num_refine}')
        self.num_classes = num_classes
        self.num_refine = num_refine
        flat = in_channels * roi_feat_size * roi_feat_size
        self.fc6 = nn.Linear(flat, fc_out_channels)
        self.fc7 = nn.Linear(fc_out_channels, fc_out_channels)
        self.dropout = nn.Dropout(dropout)
        self.mil_cls = nn.Linear(fc_out_channels, num_classes)
        self.mil_det = nn.Linear(fc_out_channels, num_classes)
        self.refine_cls = nn.ModuleList(
            nn.Linear(fc_out_channels, num_classes + 1)
            for _ in range(num_refine))
        self.refine_reg = nn.ModuleList(
            nn.Linear(fc_out_channels, 4 * num_classes)
            for _ in range(num_refine))
        self.bbox_coder = TASK_UTILS.build(bbox_coder)

    def forward(self, roi_feats: Tensor) -> Dict[str, object]:
        """Returns ``feat`` (fc7, (N, D)), ``mil_cls`` and ``mil_det``
        (N, C) logits, and per branch ``refine_cls`` (N, C + 1) and
        ``refine_reg`` (N, 4C)."""
        x = roi_feats.flatten(1)
        x = self.dropout(F.relu(self.fc6(x), inplace=True))
        feat = F.relu(self.fc7(x), inplace=True)
        x = self.dropout(feat)
        return dict(
            feat=feat,
            mil_cls=self.mil_cls(x),
            mil_det=self.mil_det(x),
            refine_cls=[layer(x) for layer in self.refine_cls],
            refine_reg=[layer(x) for layer in self.refine_reg])


def _image_labels(sample, num_classes: int, device) -> Tensor:
    labels = sample.metainfo.get('image_labels')
    if labels is None:
        raise KeyError(
            'MIST needs image-level labels: the data sample has no '
            "'image_labels' (use mmal's WeakCocoDataset / WeakVOCDataset and "
            "add 'image_labels' and 'fully_annotated' to PackDetInputs' "
            'meta_keys)')
    labels = torch.as_tensor(list(labels), dtype=torch.long, device=device)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'image_labels {labels.tolist()} of image '
                         f"{sample.metainfo.get('img_path')} are outside "
                         f'[0, {num_classes})')
    return labels


@MODELS.register_module()
class MISTRoIHead(BaseRoIHead):
    """WSDDN + K refinement branches over precomputed proposals.

    Training (per image): the MIL loss is the binary cross-entropy of the
    image's class scores (sum over proposals of softmax over classes times
    softmax over proposals) against its image-level labels. Branch k is
    trained from MIST pseudo boxes mined from branch k-1's scores (branch 0
    from the MIL scores), every proposal weighted by the score of the
    pseudo box it is assigned to; on a fully annotated image
    (``fully_annotated`` in its metainfo) every branch is trained against
    the ground-truth boxes instead, on proposals chosen by difficulty-aware
    sampling.

    Inference: the branches' softmax scores and box deltas are averaged,
    boxes decoded per class, then per-class NMS.

    Args:
        bbox_roi_extractor (dict): RoI extractor config (mmdet's
            ``SingleRoIExtractor`` with ``RoIAlign`` max pooling at stride
            8 for VGG16).
        bbox_head (dict): :class:`MISTBBoxHead` config.
        cdb (dict, optional): :class:`ConcreteDropBlock` config applied to
            the pooled RoI features during training. Defaults to None.
        train_cfg (dict, optional): Overrides of ``DEFAULT_TRAIN_CFG``:
            ``top_ratio`` / ``pseudo_iou_thr`` (pseudo boxes), ``fg_iou``,
            the loss weights, ``mil_eps`` (clamp of the image scores) and
            ``difs`` (a dict of :func:`difs_sample` arguments; None trains
            fully annotated images on every proposal).
        test_cfg (dict, optional): Overrides of ``DEFAULT_TEST_CFG``.
    """

    def __init__(self,
                 bbox_roi_extractor: dict,
                 bbox_head: dict,
                 cdb: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=None):
        train_cfg = {**DEFAULT_TRAIN_CFG, **(train_cfg or {})}
        test_cfg = {**DEFAULT_TEST_CFG, **(test_cfg or {})}
        super().__init__(
            bbox_roi_extractor=bbox_roi_extractor,
            bbox_head=bbox_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        weights = tuple(train_cfg['refine_loss_weights'])
        if len(weights) != self.bbox_head.num_refine:
            raise ValueError(
                f'train_cfg.refine_loss_weights has {len(weights)} values '
                f'for {self.bbox_head.num_refine} refinement branches')
        self.cdb = MODELS.build(cdb) if cdb is not None else None
        #: Return per-proposal class distributions and boxes for every
        #: class, without NMS (set by :class:`MISTTTAModel`).
        self.raw_output = False

    # -- building -----------------------------------------------------------
    def init_bbox_head(self, bbox_roi_extractor: dict,
                       bbox_head: dict) -> None:
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = MODELS.build(bbox_head)

    def init_mask_head(self, *args, **kwargs) -> None:
        raise NotImplementedError('MISTRoIHead has no mask branch')

    def init_assigner_sampler(self) -> None:
        """Targets are mined per image (:mod:`mist_targets`)."""

    @property
    def num_classes(self) -> int:
        return self.bbox_head.num_classes

    # -- shared forward -------------------------------------------------------
    def _forward_rois(self, x: Tuple[Tensor],
                      proposals: List[Tensor]) -> List[Dict[str, object]]:
        """Run the head on every image's proposals; outputs split per
        image."""
        rois = bbox2roi(proposals)
        feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs],
                                        rois)
        if self.cdb is not None:
            feats = self.cdb(feats)
        out = self.bbox_head(feats)
        counts = [len(p) for p in proposals]
        split = {
            key: (value.split(counts) if isinstance(value, Tensor) else list(
                zip(*[v.split(counts) for v in value])))
            for key, value in out.items()
        }
        return [{
            key: split[key][i]
            for key in split
        } for i in range(len(proposals))]

    def forward(self,
                x: Tuple[Tensor],
                rpn_results_list,
                batch_data_samples=None):
        """Raw head outputs, for ``mode='tensor'``."""
        proposals = [get_box_tensor(r.bboxes) for r in rpn_results_list]
        return tuple(self._forward_rois(x, proposals))

    @staticmethod
    def mil_scores(out: Dict[str, object]) -> Tensor:
        """Per-proposal WSDDN scores (N, C): softmax over classes times
        softmax over the image's proposals, in float32."""
        cls = out['mil_cls'].float().softmax(dim=1)
        det = out['mil_det'].float().softmax(dim=0)
        return cls * det

    # -- training -------------------------------------------------------------
    def loss(self, x: Tuple[Tensor], rpn_results_list,
             batch_data_samples) -> Dict[str, Tensor]:
        proposals = [get_box_tensor(r.bboxes) for r in rpn_results_list]
        outs = self._forward_rois(x, proposals)
        cfg = self.train_cfg
        num_refine = self.bbox_head.num_refine
        totals = {'loss_mil': 0.0}
        for k in range(num_refine):
            totals[f'loss_refine{k}_cls'] = 0.0
            totals[f'loss_refine{k}_reg'] = 0.0
        for rois, out, sample in zip(proposals, outs, batch_data_samples):
            labels = _image_labels(sample, self.num_classes, rois.device)
            target = rois.new_zeros(self.num_classes, dtype=torch.float32)
            target[labels] = 1
            img_score = self.mil_scores(out).sum(dim=0)
            eps = cfg['mil_eps']
            totals['loss_mil'] = totals['loss_mil'] + F.binary_cross_entropy(
                img_score.clamp(eps, 1 - eps), target)
            if sample.metainfo.get('fully_annotated', False):
                branch_losses = self._strong_losses(rois, out, sample)
            else:
                branch_losses = [
                    self._weak_branch_loss(k, rois, out, labels)
                    for k in range(num_refine)
                ]
            for k, (cls, reg) in enumerate(branch_losses):
                w = cfg['refine_loss_weights'][k]
                totals[f'loss_refine{k}_cls'] += w * cls
                totals[f'loss_refine{k}_reg'] += (
                    w * cfg['reg_loss_weight'] * reg)
        num_imgs = max(1, len(batch_data_samples))
        losses = {key: value / num_imgs for key, value in totals.items()}
        losses['loss_mil'] = losses['loss_mil'] * cfg['mil_loss_weight']
        return losses

    def _branch_source(self, k: int, out: Dict[str, object]) -> Tensor:
        """Scores (N, C) branch ``k`` mines its pseudo boxes from."""
        if k == 0:
            return self.mil_scores(out).detach()
        probs = out['refine_cls'][k - 1].detach().float().softmax(dim=1)
        return probs[:, :self.num_classes]

    def _weak_branch_loss(self, k: int, rois: Tensor, out: Dict[str, object],
                          labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Branch ``k``'s weighted cls and reg losses against MIST pseudo
        boxes; zero when the image has no positive class."""
        cls_logits = out['refine_cls'][k]
        deltas = out['refine_reg'][k]
        pseudo = mist_pseudo_boxes(rois, self._branch_source(k, out), labels,
                                   self.train_cfg['top_ratio'],
                                   self.train_cfg['pseudo_iou_thr'])
        if pseudo.boxes.shape[0] == 0:
            zero = cls_logits.sum() * 0 + deltas.sum() * 0
            return zero, zero
        assign = assign_proposals(rois, pseudo.boxes, pseudo.labels,
                                  pseudo.weights, self.num_classes,
                                  self.train_cfg['fg_iou'])
        return self._fast_rcnn_losses(cls_logits, deltas, rois, assign,
                                      pseudo.boxes)

    def _strong_losses(self, rois: Tensor, out: Dict[str, object],
                       sample) -> List[Tuple[Tensor, Tensor]]:
        """Every branch as a Fast R-CNN head against the ground truth."""
        gt = sample.gt_instances
        gt_boxes = get_box_tensor(gt.bboxes).to(rois)
        branches = list(zip(out['refine_cls'], out['refine_reg']))
        if gt_boxes.shape[0] == 0:  # only background
            labels = rois.new_full((rois.shape[0], ),
                                   self.num_classes,
                                   dtype=torch.long)
            return [(F.cross_entropy(c, labels), r.sum() * 0)
                    for c, r in branches]
        assign = assign_proposals(rois, gt_boxes, gt.labels, None,
                                  self.num_classes, self.train_cfg['fg_iou'])
        difs = self.train_cfg.get('difs')
        if difs:
            with torch.no_grad():
                mean_logits = torch.stack(
                    [c.detach().float() for c in out['refine_cls']]).mean(0)
                hardness = mean_logits.softmax(dim=1)[:, :-1].max(dim=1)[0]
            keep = difs_sample(assign.max_iou, hardness, **difs)
            assign = type(assign)(*(t[keep] for t in assign))
            rois = rois[keep]
            branches = [(c[keep], r[keep]) for c, r in branches]
        return [
            self._fast_rcnn_losses(c, r, rois, assign, gt_boxes)
            for c, r in branches
        ]

    def _fast_rcnn_losses(self, cls_logits: Tensor, deltas: Tensor,
                          rois: Tensor, assign,
                          gt_boxes: Tensor) -> Tuple[Tensor, Tensor]:
        """Weighted cross-entropy over the proposals and weighted smooth L1
        over the foreground ones, both divided by the number of
        proposals."""
        num = max(1, rois.shape[0])
        ce = F.cross_entropy(
            cls_logits.float(), assign.labels, reduction='none')
        loss_cls = (ce * assign.weights).sum() / num
        fg = assign.labels < self.num_classes
        if not bool(fg.any()):
            return loss_cls, deltas.sum() * 0
        targets = self.bbox_head.bbox_coder.encode(
            rois[fg], gt_boxes[assign.gt_inds[fg]])
        pred = deltas.view(deltas.shape[0], self.num_classes,
                           4)[fg, assign.labels[fg]]
        reg = F.smooth_l1_loss(
            pred.float(), targets.float(), reduction='none',
            beta=1.0).sum(dim=1)
        return loss_cls, (reg * assign.weights[fg]).sum() / num

    # -- inference ------------------------------------------------------------
    def predict(self,
                x: Tuple[Tensor],
                rpn_results_list,
                batch_data_samples,
                rescale: bool = True,
                fields: Sequence[str] = ()) -> list:
        """Detections per image (a list of ``InstanceData``).

        Args:
            fields (Sequence[str]): Extra outputs: ``cls_probs`` (the
                averaged (C + 1) distribution of each detection's proposal),
                ``feats`` (its fc7 feature), ``box_feats`` (the fc7 feature
                pooled at each detection's final box), and, in the results'
                metainfo dict ``IMAGE_FIELDS_KEY`` of
                :mod:`mmal.models.probes.field_provider`, ``loss`` (the
                last branch's cls + reg loss against pseudo boxes mined, as
                in training, from the previous branch for the image-level
                labels) and ``query_feats`` (the fc7 feature pooled at each
                box of the sample's ``metainfo[QUERY_BOXES_KEY]``, original
                image pixels). ``box_feats`` and ``query_feats`` take one
                more pass of the RoI head over those boxes.
        """
        proposals = [get_box_tensor(r.bboxes) for r in rpn_results_list]
        outs = self._forward_rois(x, proposals)
        results = self._detect(proposals, outs, batch_data_samples, rescale,
                               fields)
        if not self.raw_output and ('box_feats' in fields
                                    or 'query_feats' in fields):
            self._pool_at_boxes(x, results, batch_data_samples, rescale,
                                fields)
        return results

    def _pool_at_boxes(self, x: Tuple[Tensor], results: list,
                       batch_data_samples, rescale: bool,
                       fields: Sequence[str]) -> None:
        """The fc7 features at the detections' final boxes
        (``box_feats``) and at the query boxes (``query_feats``), in one
        pass of the RoI head over all of them."""
        per_image, counts = [], []
        for res, sample in zip(results, batch_data_samples):
            boxes = res.bboxes if 'box_feats' in fields else \
                res.bboxes.new_zeros((0, 4))
            query = sample.metainfo.get(QUERY_BOXES_KEY)
            query = boxes.new_zeros((0, 4)) if query is None or \
                'query_feats' not in fields else torch.as_tensor(
                    query, dtype=boxes.dtype, device=boxes.device).view(-1, 4)
            scale = sample.metainfo.get('scale_factor')
            if scale is not None:  # original pixels -> the input's scale
                query = scale_boxes(query, scale)
                if rescale:
                    boxes = scale_boxes(boxes, scale)
            per_image.append(torch.cat([boxes, query]))
            counts.append((len(boxes), len(query)))
        dim = self.bbox_head.fc7.out_features
        if sum(len(b) for b in per_image):
            feats = [
                o['feat'].float() for o in self._forward_rois(x, per_image)
            ]
        else:
            feats = [b.new_zeros((0, dim)) for b in per_image]
        for res, feat, (n_det, n_query) in zip(results, feats, counts):
            if 'box_feats' in fields:
                res.box_feats = feat[:n_det]
            if 'query_feats' in fields:
                image_fields = dict(res.metainfo.get(IMAGE_FIELDS_KEY) or {})
                image_fields['query_feats'] = feat[n_det:].cpu().numpy()
                res.set_metainfo({IMAGE_FIELDS_KEY: image_fields})

    def _detect(self, proposals: List[Tensor], outs: list, batch_data_samples,
                rescale: bool, fields: Sequence[str]) -> list:
        """Detections per image from the head's outputs over the
        proposals."""
        results = []
        for rois, out, sample in zip(proposals, outs, batch_data_samples):
            probs = torch.stack(
                [c.float().softmax(dim=1) for c in out['refine_cls']]).mean(0)
            deltas = torch.stack([r.float()
                                  for r in out['refine_reg']]).mean(0)
            boxes = self._decode(rois, deltas, sample, rescale)
            if self.raw_output:
                results.append(InstanceData(bboxes=boxes, cls_probs=probs))
                continue
            res = self.nms(boxes, probs, self.test_cfg)
            if 'cls_probs' in fields:
                res.cls_probs = probs[res.proposal_inds]
            if 'feats' in fields:
                res.feats = out['feat'][res.proposal_inds].float()
            if 'loss' in fields:
                labels = _image_labels(sample, self.num_classes, rois.device)
                cls, reg = self._weak_branch_loss(
                    self.bbox_head.num_refine - 1, rois, out, labels)
                res.set_metainfo(
                    {IMAGE_FIELDS_KEY: dict(loss=float(cls + reg))})
            results.append(res)
        return results

    def _decode(self, rois: Tensor, deltas: Tensor, sample,
                rescale: bool) -> Tensor:
        """Boxes (N, 4C) of every class, clipped, in original image pixels
        when ``rescale``."""
        num, num_classes = rois.shape[0], self.num_classes
        img_shape = sample.metainfo['img_shape']
        boxes = self.bbox_head.bbox_coder.decode(
            rois[:, None].expand(num, num_classes, 4).reshape(-1, 4),
            deltas.reshape(-1, 4),
            max_shape=img_shape)
        if rescale and sample.metainfo.get('scale_factor') is not None:
            scale = [1 / s for s in sample.metainfo['scale_factor']]
            boxes = scale_boxes(boxes, scale)
        return boxes.reshape(num, num_classes * 4)

    @staticmethod
    def nms(boxes: Tensor, probs: Tensor, cfg: dict) -> InstanceData:
        """Per-class NMS of (N, 4C) boxes with (N, C + 1) probabilities;
        the result records each detection's ``proposal_inds``."""
        num_classes = probs.shape[1] - 1
        dets, labels, inds = multiclass_nms(
            boxes,
            probs,
            cfg['score_thr'],
            cfg['nms'],
            cfg['max_per_img'],
            return_inds=True)
        res = InstanceData()
        res.bboxes = dets[:, :4]
        res.scores = dets[:, 4]
        res.labels = labels
        res.proposal_inds = torch.div(inds, num_classes, rounding_mode='floor')
        return res
