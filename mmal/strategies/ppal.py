"""PPAL (Yang et al., "Plug and Play Active Learning for Object Detection",
CVPR 2024), as its released code (ChenhongyiYang/PPAL) runs it:
difficulty-calibrated uncertainty sampling (DCUS) picks ``expand_ratio x
budget`` candidates, then k-centroid clustering over the candidates'
category-conditioned matching distances (CCMS) picks the budget."""
import numpy as np
from mmengine.device import get_device

from mmal.registry import STRATEGIES
from mmal.utils.choices import check_one_of
from .base_strategy import BaseStrategy, Selection, SelectionContext
from .core_set import DEVICES
from .functional import binary_entropy, ccms_distances, k_centroid, rank_order


def class_weights(quality: np.ndarray, upper_bound: float,
                  alpha: float) -> np.ndarray:
    """DCUS's weight of each class from its difficulty ``1 - quality``:
    ``1 + ub * alpha * log(1 + (e^(1/alpha) - 1) (1 - q))``, from 1 (q = 1:
    easy) to ``1 + ub`` (q = 0: hard), as the released
    ``DCUSSampler._get_classwise_weight``."""
    q = np.asarray(quality, np.float64)
    b = np.exp(1.0 / alpha) - 1.0
    return 1.0 + alpha * np.log(b * (1.0 - q) + 1.0) * upper_bound


@STRATEGIES.register_module(name=['PPAL', 'ppal'])
class PPAL(BaseStrategy):
    """DCUS then CCMS + k-centroid, with the released defaults.

    Per image, the uncertainty is ``sum_a w[c_a] H(s_a)`` over its
    detections with score >= ``score_thr`` and a box that is not too small
    (``sqrt(w h) > size_thr`` px) or elongated (aspect < ``ratio_thr``);
    ``H`` the binary entropy of the score and ``w`` :func:`class_weights` of
    the class qualities that ``ClassQualityHook`` kept during training
    (``context.train_state['class_quality']``). The ``expand_ratio x
    budget`` most uncertain images are the candidates; among them the
    budget is the medoids of :func:`k_centroid` over
    :func:`ccms_distances` of their (at most ``max_dets``) detections with
    score > ``sim_score_thr``, compared on the ``feats`` field.

    Args:
        expand_ratio (int): Candidates per budget image. Defaults to 4.
        score_thr (float): DCUS score threshold. Defaults to 0.05.
        class_weight_ub (float): Upper bound of the weights minus 1.
            Defaults to 0.2.
        class_weight_alpha (float): alpha. Defaults to 0.3.
        size_thr (float): Minimum ``sqrt(w h)`` of a counted box, in
            original pixels. Defaults to 16.
        ratio_thr (float): Maximum aspect ratio of a counted box. Defaults
            to 5.
        sim_score_thr (float): Score above which detections enter CCMS.
            Defaults to 0.05.
        max_dets (int): Detections per image kept for CCMS (the highest
            scores). Defaults to 100.
        max_iter (int): k-centroid rounds at most. Defaults to 100.
        device (str): Where CCMS runs ('auto', 'cpu', 'cuda'). Defaults to
            'auto'.
    """

    requires = ('bboxes', 'scores', 'labels', 'feats')
    train_state = ('class_quality', )

    def __init__(self,
                 expand_ratio: int = 4,
                 score_thr: float = 0.05,
                 class_weight_ub: float = 0.2,
                 class_weight_alpha: float = 0.3,
                 size_thr: float = 16.0,
                 ratio_thr: float = 5.0,
                 sim_score_thr: float = 0.05,
                 max_dets: int = 100,
                 max_iter: int = 100,
                 device: str = 'auto'):
        if expand_ratio < 1:
            raise ValueError(f'expand_ratio must be >= 1, got {expand_ratio}')
        if class_weight_alpha <= 0:
            raise ValueError('class_weight_alpha must be > 0, got '
                             f'{class_weight_alpha}')
        if max_dets < 1 or max_iter < 1:
            raise ValueError('max_dets and max_iter must be >= 1')
        check_one_of('device', device, DEVICES)
        self.expand_ratio = int(expand_ratio)
        self.score_thr = float(score_thr)
        self.class_weight_ub = float(class_weight_ub)
        self.class_weight_alpha = float(class_weight_alpha)
        self.size_thr = float(size_thr)
        self.ratio_thr = float(ratio_thr)
        self.sim_score_thr = float(sim_score_thr)
        self.max_dets = int(max_dets)
        self.max_iter = int(max_iter)
        self.device = device

    def summarize(self, fields):
        boxes = np.asarray(fields['bboxes'], np.float64).reshape(-1, 4)
        scores = np.asarray(fields['scores'], np.float64).reshape(-1)
        labels = np.asarray(fields['labels'], np.int64).reshape(-1)
        feats = np.asarray(fields['feats'], np.float32)
        if feats.ndim != 2:
            feats = feats.reshape(len(scores), -1 if len(scores) else 0)
        w = np.maximum(boxes[:, 2] - boxes[:, 0], 0)
        h = np.maximum(boxes[:, 3] - boxes[:, 1], 0)
        counted = ((scores >= self.score_thr)
                   & (np.sqrt(w * h) > self.size_thr)
                   & (w / (h + 1e-10) < self.ratio_thr)
                   & (h / (w + 1e-10) < self.ratio_thr))
        order = np.argsort(-scores, kind='stable')
        keep = order[scores[order] > self.sim_score_thr][:self.max_dets]
        return dict(
            dcus_labels=labels[counted],
            dcus_entropy=binary_entropy(scores[counted]),
            ccms_labels=labels[keep],
            ccms_scores=scores[keep].astype(np.float32),
            ccms_feats=feats[keep].astype(np.float16))

    def uncertainties(self, summaries, context: SelectionContext) -> \
            np.ndarray:
        """(N,) DCUS uncertainty of each image of ``summaries``."""
        quality = self.train_state_entry(context, 'class_quality')
        weights = class_weights(
            quality.reshape(-1), self.class_weight_ub, self.class_weight_alpha)
        out = np.zeros(len(summaries))
        for pos, s in summaries.walk(range(len(summaries))):
            lab = np.asarray(s['dcus_labels'], np.int64)
            if lab.size and lab.max() >= weights.size:
                raise ValueError(
                    f'image {summaries.ids[pos]} has class {lab.max()} but '
                    f'class_quality has {weights.size} classes')
            out[pos] = float(
                (np.asarray(s['dcus_entropy']) * weights[lab]).sum())
        return out

    def select(self, summaries, budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        budget = min(budget, len(summaries))
        unc = self.uncertainties(summaries, context)
        order = rank_order(unc, rng)
        cands = order[:self.expand_ratio * budget]
        extra = dict(candidates=int(cands.size))
        if budget == 0 or cands.size <= budget:
            picked = cands[:budget]
            return Selection(
                ids=summaries.ids[picked], scores=unc[picked], extra=extra)
        feats, labels, scores = [], [], []
        for _, s in summaries.walk(cands):
            feats.append(np.asarray(s['ccms_feats'], np.float32))
            labels.append(np.asarray(s['ccms_labels']))
            scores.append(np.asarray(s['ccms_scores'], np.float32))
        device = get_device() if self.device == 'auto' else self.device
        dist = ccms_distances(feats, labels, scores, device=device)
        medoids, rounds = k_centroid(dist, budget, rng, self.max_iter)
        medoids = list(dict.fromkeys(medoids.tolist()))  # distinct
        if len(medoids) < budget:  # duplicates: the most uncertain rest
            rest = [i for i in range(cands.size) if i not in set(medoids)]
            medoids += rest[:budget - len(medoids)]
        picked = cands[np.asarray(medoids, np.int64)]
        extra.update(k_centroid_rounds=int(rounds))
        return Selection(
            ids=summaries.ids[picked], scores=unc[picked], extra=extra)
