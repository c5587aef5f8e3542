"""PPAL's class-wise difficulty coefficients, kept during training.

Yang et al., "Plug and Play Active Learning for Object Detection", CVPR
2024; the released code (ChenhongyiYang/PPAL, ``RetinaQualityEMAHead``)
keeps them as buffers of a modified RetinaNet head. Here a hook keeps them
without touching the detector, from the tensors the head passes to its own
``loss_cls`` and ``loss_bbox`` modules.
"""
from typing import Dict, List, Optional

import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmengine.dist import all_reduce

from mmal.registry import HOOKS
from .train_state_hook import TrainStateHook, unwrap_model


@HOOKS.register_module()
class ClassQualityHook(TrainStateHook):
    """Momentum-averaged detection quality per class (PPAL's difficulty).

    At every training iteration, for each positive anchor (label ``c < C``)
    of every level, the quality is ``p ** xi * iou ** (1 - xi)``: ``p`` the
    predicted probability of class ``c`` (sigmoid, or softmax for softmax
    heads) and ``iou`` the IoU of the regressed box with its target box.
    The per-class mean ``q_c`` of the iteration (summed over processes; 0
    for a class without positives) updates, as the released code does,

        quality_c <- m_c * quality_c + (1 - m_c) * q_c
        m_c <- base_momentum if q_c > 0 else m_c * base_momentum

    from ``quality = 0``, ``m = base_momentum``; so a class absent for a
    while decays and its next observation weighs more. The strategy
    ``ppal`` turns ``1 - quality`` into class weights.

    Works with heads that call ``self.loss_cls(cls_score, labels, ...)``
    and then ``self.loss_bbox(bbox_pred, bbox_targets, ...)`` on the same
    anchors per level (mmdet's ``AnchorHead.loss_by_feat_single``:
    RetinaNet and its relatives), regressing with ``DeltaXYWHBBoxCoder``
    or decoded boxes. With deltas, the IoU is computed on boxes decoded
    from a unit anchor: IoU is invariant to translating and scaling each
    axis, so it equals the IoU of the boxes decoded from the true anchor.

    Saved with every checkpoint as train state ``class_quality`` (C,)
    (and ``class_momentum``).

    Args:
        base_momentum (float): The released training config's 0.99 (the
            head's own default is 0.999).
        quality_xi (float): ``xi``. Defaults to 0.6 (released).
        head (str): Attribute of the detector holding the head. Defaults
            to 'bbox_head'.
    """

    train_state_keys = ('class_quality', 'class_momentum')
    priority = 'NORMAL'

    def __init__(self,
                 base_momentum: float = 0.99,
                 quality_xi: float = 0.6,
                 head: str = 'bbox_head'):
        if not 0.0 < base_momentum < 1.0:
            raise ValueError(
                f'base_momentum must be in (0, 1), got {base_momentum}')
        if not 0.0 <= quality_xi <= 1.0:
            raise ValueError(f'quality_xi must be in [0, 1], got {quality_xi}')
        self.base_momentum = float(base_momentum)
        self.quality_xi = float(quality_xi)
        self.head_name = head
        self.quality: Optional[torch.Tensor] = None
        self.momentum: Optional[torch.Tensor] = None
        self._loaded: Optional[Dict[str, torch.Tensor]] = None
        self._handles: List = []
        self._pending = None
        self._sums = self._counts = None

    # -- attaching --------------------------------------------------------
    def attach(self, head) -> None:
        """Start observing ``head`` (its ``loss_cls`` / ``loss_bbox``)."""
        for attr in ('loss_cls', 'loss_bbox', 'bbox_coder', 'num_classes'):
            if not hasattr(head, attr):
                raise TypeError(
                    f'ClassQualityHook needs a head with {attr} (an mmdet '
                    f'AnchorHead such as RetinaHead); {type(head).__name__} '
                    'has none')
        if not (isinstance(head.loss_cls, torch.nn.Module)
                and isinstance(head.loss_bbox, torch.nn.Module)):
            raise TypeError('ClassQualityHook observes the head\'s loss_cls '
                            'and loss_bbox modules; '
                            f'{type(head).__name__} calls loss functions')
        decoded = bool(getattr(head, 'reg_decoded_bbox', False))
        if not decoded and not isinstance(head.bbox_coder, DeltaXYWHBBoxCoder):
            raise TypeError(
                'ClassQualityHook computes IoUs of delta-encoded boxes for '
                f'DeltaXYWHBBoxCoder only, the head has '
                f'{type(head.bbox_coder).__name__} (use reg_decoded_bbox)')
        self.head = head
        self.num_classes = int(head.num_classes)
        self.sigmoid = bool(getattr(head, 'use_sigmoid_cls', True))
        self.decoded = decoded
        self._handles = [
            head.loss_cls.register_forward_pre_hook(
                self._on_cls, with_kwargs=True),
            head.loss_bbox.register_forward_pre_hook(
                self._on_bbox, with_kwargs=True)
        ]
        c = self.num_classes
        if self._loaded is not None:
            self.quality = self._loaded['class_quality'].float().clone()
            self.momentum = self._loaded['class_momentum'].float().clone()
            self._loaded = None
        if self.quality is None or self.quality.numel() != c:
            self.quality = torch.zeros(c)
            self.momentum = torch.full((c, ), self.base_momentum)
        self._reset()

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _reset(self) -> None:
        self._sums = torch.zeros(self.num_classes, dtype=torch.float64)
        self._counts = torch.zeros(self.num_classes, dtype=torch.float64)
        self._pending = None

    # -- observing --------------------------------------------------------
    def _on_cls(self, module, args, kwargs):
        self._pending = (args[0].detach(), args[1].detach())

    def _on_bbox(self, module, args, kwargs):
        if self._pending is None:
            return
        cls_score, labels = self._pending
        self._pending = None
        self.observe(cls_score, labels, args[0].detach(), args[1].detach())

    @torch.no_grad()
    def observe(self, cls_score: torch.Tensor, labels: torch.Tensor,
                bbox_pred: torch.Tensor, bbox_targets: torch.Tensor) -> None:
        """Add one level's positives to the iteration's per-class sums.

        Args:
            cls_score (Tensor): (A, C) logits (``C + 1`` for softmax heads).
            labels (Tensor): (A,) targets, ``C`` for background.
            bbox_pred (Tensor): (A, 4) deltas (or decoded boxes).
            bbox_targets (Tensor): (A, 4) their targets, alike.
        """
        labels = labels.reshape(-1).long()
        pos = (labels >= 0) & (labels < self.num_classes)
        if not pos.any():
            return
        lab = labels[pos]
        logits = cls_score.reshape(labels.numel(), -1)[pos].float()
        probs = logits.sigmoid() if self.sigmoid else logits.softmax(-1)
        p = probs[torch.arange(lab.numel(), device=lab.device), lab]
        pred = bbox_pred.reshape(labels.numel(), -1)[pos].float()
        target = bbox_targets.reshape(labels.numel(), -1)[pos].float()
        if not self.decoded:
            unit = pred.new_tensor([0., 0., 1., 1.]).expand(len(pred), 4)
            pred = get_box_tensor(self.head.bbox_coder.decode(unit, pred))
            target = get_box_tensor(self.head.bbox_coder.decode(unit, target))
        iou = bbox_overlaps(pred, target, is_aligned=True).clamp(min=0)
        quality = p.pow(self.quality_xi) * iou.pow(1.0 - self.quality_xi)
        self._sums.index_add_(0, lab.cpu(), quality.double().cpu())
        self._counts.index_add_(0, lab.cpu(),
                                torch.ones_like(quality, dtype=torch.float64))

    def update(self) -> None:
        """Fold the iteration's sums into the coefficients (the released
        head's update, after summing over processes)."""
        sums, counts = self._sums.clone(), self._counts.clone()
        all_reduce(sums)
        all_reduce(counts)
        avg = (sums / (counts + 1e-5)).float()
        self.quality = self.momentum * self.quality + (1 - self.momentum) * avg
        self.momentum = torch.where(avg > 0,
                                    torch.full_like(avg, self.base_momentum),
                                    self.momentum * self.base_momentum)
        self._reset()

    # -- runner events ----------------------------------------------------
    def before_train(self, runner) -> None:
        model = unwrap_model(runner)
        head = getattr(model, self.head_name, None)
        if head is None:
            raise TypeError(f'ClassQualityHook: {type(model).__name__} has no '
                            f'{self.head_name}')
        self.attach(head)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.update()

    def after_train(self, runner) -> None:
        self.detach()

    def state(self) -> Dict[str, torch.Tensor]:
        if self.quality is None:
            return {}
        return dict(class_quality=self.quality, class_momentum=self.momentum)

    def load_state(self, state: Dict[str, torch.Tensor]) -> None:
        if 'class_quality' in state and 'class_momentum' in state:
            self._loaded = dict(state)
