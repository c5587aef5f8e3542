"""Per-detection probes: class distributions and features of the detections
of an mmdet detector, taken from the forward pass that made them.

A :class:`DetectorProbe` registers forward hooks on the modules of an
unmodified mmdet detector, runs the detector's own ``test_step`` and then
traces every final detection back to the proposal (two-stage) or anchor
(dense heads) that produced it. No mmdet code is copied or changed, and no
second forward runs: the hooks only keep references to tensors the model
computes anyway.

Tracing: a kept detection's score is the class probability its proposal /
anchor was given by the head (NMS keeps scores as they are), so a detection
of class ``c`` with score ``s`` comes from the proposal / anchor whose class
``c`` probability equals ``s``. Equal probabilities (saturated scores) are
told apart by decoding the candidates' boxes and taking the one closest to
the detection's box. Score-rewriting post-processing (soft-NMS, score
factors) cannot be traced and is refused with an error.

Fields per detector (see ``docs/strategies/enms_divproto.md``):

================  ==========================  ==============================
field             two-stage (Faster R-CNN)    dense (RetinaNet, SSD)
================  ==========================  ==============================
``cls_probs``     softmax of the RoI head's   SSD: softmax over C + 1;
                  C + 1 logits                RetinaNet (sigmoid): the C
                                              probabilities and
                                              ``1 - max`` as background,
                                              normalised to sum to 1
``feats``         input of ``fc_cls`` (the    the classification branch's
                  RoI's shared-fc feature)    input at the anchor's level
                                              and location; SSD levels of
                                              different widths are put in
                                              separate blocks of one vector
                                              (cosine 0 across levels)
``img_feat``      global average of the backbone's last output over the
                  image's valid (unpadded) area
================  ==========================  ==============================

A model that computes fields itself declares them in ``probe_fields``
(:class:`mmal.models.MIST`: ``cls_probs``, ``feats`` and the per-image
``loss``); the probe then sets ``model.requested_fields`` for the pass and
reads them from the predictions instead of tracing.
"""
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mmal.strategies import FIELDS, StrategyError

#: Fields that come straight from ``pred_instances``.
PREDICTION_FIELDS = ('bboxes', 'scores', 'labels')
#: Fields the probes add.
PROBE_FIELDS = ('cls_probs', 'feats', 'img_feat')


def _name(model) -> str:
    return type(model).__name__


class DetectorProbe:
    """Run a detector and return the requested per-image fields.

    Args:
        model (nn.Module): A built mmdet detector in eval mode.
        fields (Sequence[str]): Keys of :data:`mmal.strategies.FIELDS` that
            need the detector.
        score_tol (float): How far, relative to the score, a detection's
            score may be from its source's probability (a few float32 ulps:
            vectorised and scalar kernels may round differently). Defaults
            to 1e-6.

    Raises:
        StrategyError: If the detector cannot provide one of ``fields``,
            naming the field and the detector.
    """

    def __init__(self, model, fields: Sequence[str], score_tol: float = 1e-6):
        self.model = model
        self.fields = tuple(fields)
        self.score_tol = score_tol
        #: Fields the model computes itself (e.g. :class:`mmal.models.MIST`).
        self.native = set(getattr(model, 'probe_fields',
                                  ())) & set(self.fields)
        unknown = (
            set(self.fields) - set(PREDICTION_FIELDS) - set(PROBE_FIELDS) -
            self.native)
        if unknown:
            known = sorted(set(FIELDS) & set(unknown))
            raise StrategyError(
                f'detector {_name(model)} cannot provide fields '
                f'{sorted(unknown)}' +
                (f' ({known} need a detector-specific probe that mmal does '
                 'not have for it)' if known else ''))
        self.kind = self._kind()
        if self.kind != 'native' and {'cls_probs', 'feats'} & set(self.fields):
            self._check_scores_kept()
        self._handles: List = []
        self._store: Dict[str, object] = {}

    # -- what the detector is -------------------------------------------
    def _kind(self) -> str:
        model = self.model
        need_dist = {'cls_probs', 'feats'} & set(self.fields)
        if 'img_feat' in self.fields and not hasattr(model, 'backbone'):
            raise StrategyError(f'detector {_name(model)} has no backbone, '
                                'so it cannot provide field img_feat')
        if self.native:
            return 'native'
        roi_head = getattr(model, 'roi_head', None)
        if roi_head is not None:
            head = getattr(roi_head, 'bbox_head', None)
            ok = (
                hasattr(roi_head, 'bbox_roi_extractor')
                and isinstance(head, torch.nn.Module)
                and hasattr(head, 'fc_cls'))
            if need_dist and not ok:
                raise StrategyError(
                    f'detector {_name(model)} (roi head '
                    f'{type(roi_head).__name__}) cannot provide fields '
                    f'{sorted(need_dist)}: probes support a single-stage RoI '
                    'head with one bbox head that has fc_cls (e.g. '
                    'StandardRoIHead + Shared2FCBBoxHead)')
            return 'two_stage'
        head = getattr(model, 'bbox_head', None)
        if head is not None:
            from mmdet.models.dense_heads import AnchorHead, SSDHead
            if need_dist and not isinstance(head, AnchorHead):
                raise StrategyError(
                    f'detector {_name(model)} (head {type(head).__name__}) '
                    f'cannot provide fields {sorted(need_dist)}: probes '
                    'support anchor-based dense heads (RetinaHead, SSDHead)')
            if 'feats' in self.fields and not (hasattr(head, 'retina_cls')
                                               or isinstance(head, SSDHead)):
                raise StrategyError(
                    f'detector {_name(model)} (head {type(head).__name__}) '
                    'cannot provide field feats: mmal knows the '
                    'classification-branch feature of RetinaHead and '
                    'SSDHead only')
            return 'dense'
        if need_dist:
            raise StrategyError(
                f'detector {_name(model)} has neither roi_head nor bbox_head '
                f'and cannot provide fields {sorted(need_dist)}')
        return 'other'

    def _check_scores_kept(self) -> None:
        """Refuse test configs that rewrite scores (tracing needs the
        head's probabilities unchanged): soft-NMS, score factors."""
        test_cfg = getattr(self.model, 'test_cfg', None) or {}
        cfg = test_cfg.get('rcnn', test_cfg) if self.kind == 'two_stage' \
            else test_cfg
        nms = (cfg or {}).get('nms') or {}
        head = getattr(self.model, 'bbox_head', None)
        if 'soft' in str(nms.get('type', '')).lower() or getattr(
                head, 'with_score_factors', False):
            raise StrategyError(
                f'detector {_name(self.model)}: probes trace each detection '
                'to its proposal/anchor by score, which soft-NMS or score '
                f'factors rewrite (test_cfg nms={dict(nms)}); use plain nms '
                'for the pool pass')

    # -- hooks ------------------------------------------------------------
    def _hook(self, module, name, pre=False, append=False):

        def save(value):
            if append:
                self._store.setdefault(name, []).append(value)
            else:
                self._store[name] = value

        if pre:
            h = module.register_forward_pre_hook(lambda m, args: save(args))
        else:
            h = module.register_forward_hook(lambda m, args, out: save(out))
        self._handles.append(h)

    def __enter__(self):
        m = self.model
        want = set(self.fields)
        if 'img_feat' in want:
            self._hook(m.backbone, 'backbone')
        if self.kind == 'native':
            m.requested_fields = tuple(sorted(self.native))
            return self
        if not want & {'cls_probs', 'feats'}:
            return self
        if self.kind == 'two_stage':
            self._hook(m.roi_head.bbox_roi_extractor, 'rois', pre=True)
            self._hook(m.roi_head.bbox_head, 'head')
            if 'feats' in want:
                self._hook(m.roi_head.bbox_head.fc_cls, 'feat', pre=True)
        else:
            head = m.bbox_head
            self._hook(head, 'head')
            if 'feats' in want:
                if hasattr(head, 'retina_cls'):
                    self._hook(head.retina_cls, 'feat', pre=True, append=True)
                else:
                    for level, conv in enumerate(head.cls_convs):
                        self._hook(conv, f'feat{level}', pre=True)
        return self

    def __exit__(self, *exc):
        if self.kind == 'native':
            self.model.requested_fields = ()
        for h in self._handles:
            h.remove()
        self._handles = []
        self._store = {}

    # -- running ----------------------------------------------------------
    @torch.no_grad()
    def run(self, batch) -> List[tuple]:
        """Run ``model.test_step(batch)``; returns ``(sample, fields)`` per
        image, ``fields`` holding numpy arrays."""
        if (not self._handles and not self.native
                and set(self.fields) - set(PREDICTION_FIELDS)):
            raise RuntimeError('use DetectorProbe as a context manager')
        self._store = {}
        outputs = self.model.test_step(batch)
        results = []
        for b, sample in enumerate(outputs):
            pred = sample.pred_instances
            out = {}
            if 'bboxes' in self.fields:
                out['bboxes'] = pred.bboxes.float().cpu().numpy()
            if 'scores' in self.fields:
                out['scores'] = pred.scores.float().cpu().numpy()
            if 'labels' in self.fields:
                out['labels'] = pred.labels.cpu().numpy().astype(np.int64)
            if 'img_feat' in self.fields:
                out['img_feat'] = self._img_feat(b, sample)
            if self.kind == 'native':
                out.update(self._native(pred))
            elif {'cls_probs', 'feats'} & set(self.fields):
                probs, feats = (
                    self._trace_two_stage(b, sample) if self.kind
                    == 'two_stage' else self._trace_dense(b, sample))
                if 'cls_probs' in self.fields:
                    out['cls_probs'] = probs.float().cpu().numpy()
                if 'feats' in self.fields:
                    out['feats'] = feats.float().cpu().numpy()
            results.append((sample, out))
        return results

    def _native(self, pred) -> Dict[str, np.ndarray]:
        """The fields a model puts in its own predictions."""
        out = {}
        for field in ('cls_probs', 'feats'):
            if field in self.native:
                out[field] = pred.get(field).float().cpu().numpy()
        if 'loss' in self.native:
            out['loss'] = np.asarray(
                pred.metainfo['wsod_loss'], dtype=np.float32)
        return out

    def _img_feat(self, b: int, sample) -> np.ndarray:
        feat = self._store['backbone']
        if isinstance(feat, (tuple, list)):
            feat = feat[-1]
        fmap = feat[b]
        pad_h, pad_w = sample.metainfo.get('batch_input_shape',
                                           sample.metainfo['img_shape'])
        img_h, img_w = sample.metainfo['img_shape'][:2]
        h = max(1, int(np.ceil(fmap.shape[-2] * img_h / pad_h)))
        w = max(1, int(np.ceil(fmap.shape[-1] * img_w / pad_w)))
        return fmap[:, :h, :w].float().mean(dim=(1, 2)).cpu().numpy()

    # -- tracing -------------------------------------------------------------
    def _match(self, probs_fg: torch.Tensor, sample, decode) -> torch.Tensor:
        """Index of the source row of every detection.

        Args:
            probs_fg (Tensor): (M, C) class probabilities of the sources.
            sample: The detection's DetDataSample.
            decode (callable): ``decode(rows, classes)`` -> (K, 4) boxes in
                original-image pixels, for tie-breaks.
        """
        pred = sample.pred_instances
        labels, scores = pred.labels, pred.scores.float()
        if labels.numel() == 0:
            return labels.new_zeros((0, ))
        if probs_fg.shape[0] == 0:
            raise RuntimeError('probe: detections without any source')
        tol = self.score_tol * scores.abs() + 1e-12
        rows = labels.new_zeros(labels.shape)
        for c in labels.unique().tolist():
            dets = torch.nonzero(labels == c).flatten()
            col = probs_fg[:, c].float()
            # only sources at least as likely as the least likely detection
            # of the class can be sources (few, for a trained detector)
            cand = torch.nonzero(col >= (scores[dets] -
                                         tol[dets]).min()).flatten()
            close = (col[cand][None] - scores[dets][:, None]).abs() <= \
                tol[dets][:, None]
            hits = close.sum(dim=1)
            single = hits == 1
            if single.any():  # the usual case: one source, no loop
                rows[dets[single]] = cand[close[single].float().argmax(1)]
            for j in torch.nonzero(~single).flatten().tolist():
                d = int(dets[j])
                options = cand[close[j]]
                if options.numel() == 0:
                    raise StrategyError(
                        f'probe: cannot trace detection {d} (class {c}, '
                        f'score {float(scores[d]):.6f}) of image '
                        f'{sample.metainfo.get("img_path")} to a '
                        f'{self._source} with that probability; the '
                        'test_cfg rewrites scores (soft-NMS or score '
                        'factors), which probes do not support')
                # equal probabilities: the source with the nearest box
                boxes = decode(options, labels[d].repeat(options.numel()))
                err = (boxes - pred.bboxes[d].to(boxes)).abs().sum(dim=1)
                rows[d] = options[err.argmin()]
        return rows

    @property
    def _source(self) -> str:
        return 'proposal' if self.kind == 'two_stage' else 'anchor'

    @staticmethod
    def _rescale(boxes: torch.Tensor, sample) -> torch.Tensor:
        scale = sample.metainfo.get('scale_factor')
        if scale is None:
            return boxes
        return boxes / boxes.new_tensor(scale).repeat(2)

    def _trace_two_stage(self, b: int, sample):
        head = self.model.roi_head.bbox_head
        n_cls = head.num_classes
        if 'rois' not in self._store:  # no proposals in the whole batch
            rois = torch.zeros((0, 5))
            logits = torch.zeros((0, n_cls + 1))
            deltas = torch.zeros((0, 4))
            feat = torch.zeros((0, head.fc_cls.in_features))
        else:
            rois = self._store['rois'][1]
            logits, deltas = self._store['head']
            mine = rois[:, 0] == b
            rois, logits, deltas = rois[mine], logits[mine], deltas[mine]
            feat = (
                self._store['feat'][0][mine]
                if 'feat' in self._store else None)
        probs = F.softmax(logits.float(), dim=-1)
        img_shape = sample.metainfo['img_shape']

        def decode(rows, classes):
            d = deltas[rows]
            if not head.reg_class_agnostic:
                d = d.view(d.shape[0], -1, 4)[torch.arange(d.shape[0]),
                                              classes]
            boxes = head.bbox_coder.decode(
                rois[rows, 1:], d, max_shape=img_shape)
            return self._rescale(boxes, sample)

        rows = self._match(probs[:, :n_cls], sample, decode)
        feats = feat[rows] if feat is not None else None
        return probs[rows], feats

    def _trace_dense(self, b: int, sample):
        head = self.model.bbox_head
        head_out = self._store['head']
        if len(head_out) != 2:
            raise StrategyError(
                f'detector {_name(self.model)} (head {type(head).__name__}) '
                'predicts score factors (e.g. centerness), which rewrite '
                'scores; probes cannot trace its detections')
        cls_scores, bbox_preds = head_out
        sizes = [s.shape[-2:] for s in cls_scores]
        c_out = head.cls_out_channels
        per_level = [
            s[b].permute(1, 2, 0).reshape(-1, c_out).float()
            for s in cls_scores
        ]
        if head.use_sigmoid_cls:
            fg = [s.sigmoid() for s in per_level]
        else:
            probs = [s.softmax(-1) for s in per_level]
            fg = [p[:, :-1] for p in probs]
        fg_all = torch.cat(fg)
        counts = [p.shape[0] for p in fg]
        starts = np.concatenate([[0], np.cumsum(counts)])
        img_shape = sample.metainfo['img_shape']

        def locate(rows):
            level = np.searchsorted(starts, rows.cpu().numpy(), 'right') - 1
            return level, rows.cpu().numpy() - starts[level]

        priors = []

        def decode(rows, classes):
            if not priors:  # only when scores tie, once per image
                priors.extend(
                    head.prior_generator.grid_priors(
                        sizes, dtype=fg_all.dtype, device=fg_all.device))
            level, idx = locate(rows)
            out = fg_all.new_zeros((len(level), 4))
            for lv in np.unique(level):
                mask = level == lv
                sel = torch.as_tensor(idx[mask], device=fg_all.device)
                delta = bbox_preds[lv][b].permute(1, 2, 0).reshape(
                    -1, head.bbox_coder.encode_size)[sel]
                out[torch.as_tensor(mask, device=out.device)] = \
                    head.bbox_coder.decode(
                        priors[lv][sel], delta, max_shape=img_shape)
            return self._rescale(out, sample)

        rows = self._match(fg_all, sample, decode)
        if head.use_sigmoid_cls:
            # C independent sigmoids: background = 1 - max, normalised
            p = fg_all[rows]
            dist = torch.cat([p, 1 - p.max(dim=1, keepdim=True)[0]], dim=1)
            dist = dist / dist.sum(dim=1, keepdim=True).clamp(min=1e-12)
        else:
            dist = torch.cat(probs)[rows]
        feats = None
        if 'feats' in self.fields:
            feats = self._dense_feats(b, rows, locate, sizes)
        return dist, feats

    def _dense_feats(self, b, rows, locate, sizes):
        head = self.model.bbox_head
        if 'feat' in self._store:  # RetinaHead: one input per level
            maps = [args[0] for args in self._store['feat']]
        else:
            maps = [self._store[f'feat{lv}'][0] for lv in range(len(sizes))]
        widths = [m.shape[1] for m in maps]
        same = len(set(widths)) == 1
        offsets = np.concatenate([[0], np.cumsum(widths)])
        dim = widths[0] if same else int(offsets[-1])
        out = maps[0].new_zeros((rows.numel(), dim)).float()
        level, idx = locate(rows)
        num_base = head.prior_generator.num_base_priors
        for lv in np.unique(level):
            mask = level == lv
            loc = idx[mask] // num_base[lv]
            fmap = maps[lv][b].flatten(1)  # (width, H * W)
            cols = torch.as_tensor(loc, device=fmap.device)
            start = 0 if same else int(offsets[lv])
            out[torch.as_tensor(mask, device=out.device),
                start:start + widths[lv]] = fmap[:, cols].t().float()
        return out
