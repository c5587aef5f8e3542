"""The base class of probe adapters: declarations, hooks and the run loop.

An adapter serves one detector head family. It declares, as classmethods
the builder calls before building anything, whether it fits a model
(:meth:`BaseProbe.mismatch` / :meth:`BaseProbe.supports`) and which fields
it provides for it (:meth:`BaseProbe.provided_fields`). Built, it is a
context manager: entering registers forward hooks on the model's modules
(they only keep references to tensors the model computes anyway), and
:meth:`BaseProbe.run` runs the detector's own ``test_step`` once per batch
and returns the requested fields per image.
"""
from typing import ClassVar, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmal.strategies import StrategyError

#: Fields that come straight from ``pred_instances``.
PREDICTION_FIELDS = ('bboxes', 'scores', 'labels')
#: Fields the score-tracing adapters add.
PROBE_FIELDS = ('cls_probs', 'feats', 'img_feat')


def model_name(model) -> str:
    """The detector's class name, for messages."""
    return type(model).__name__


def describe_model(model) -> str:
    """The detector and its head, e.g. ``'FCOS (bbox_head FCOSHead)'``."""
    for attr in ('roi_head', 'bbox_head'):
        head = getattr(model, attr, None)
        if head is not None:
            return f'{model_name(model)} ({attr} {type(head).__name__})'
    return model_name(model)


def overridden(obj, base, methods: Sequence[str]) -> List[str]:
    """The ``methods`` of ``base`` that ``obj``'s class overrides (an
    adapter that models ``base``'s arithmetic does not fit those)."""
    return [
        m for m in methods if getattr(type(obj), m) is not getattr(base, m)
    ]


class BaseProbe:
    """Run a detector and return the requested per-image fields.

    Every adapter provides :data:`PREDICTION_FIELDS` (copied from
    ``pred_instances``) and, for a model with a ``backbone``, ``img_feat``:
    the global average of the backbone's last output over the image's valid
    (unpadded) area. Subclasses add fields in :attr:`provides` and compute
    them in :meth:`_fields`.

    Args:
        model (nn.Module): A built mmdet detector in eval mode.
        fields (Sequence[str]): Keys of :data:`mmal.strategies.FIELDS` that
            need the detector.
        score_tol (float): How far, relative to the score, a detection's
            score may be from its source's probability (used by the
            score-tracing adapters). Defaults to 1e-6.

    Raises:
        StrategyError: If the adapter does not fit the model or cannot
            provide one of ``fields``, naming the detector and the field.
    """

    #: Order in which :func:`build_probe` asks the adapters, highest first
    #: (ties by class name).
    priority: ClassVar[int] = 0
    #: Fields the adapter adds to the common ones (the predictions and
    #: ``img_feat``).
    provides: ClassVar[Tuple[str, ...]] = ()

    # -- declarations (asked before building) ----------------------------
    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        """Why the adapter does not fit ``model``; None when it does.

        Args:
            model (nn.Module): A built detector.

        Returns:
            str or None: A short reason naming what the adapter needs.
        """
        raise NotImplementedError

    @classmethod
    def supports(cls, model) -> bool:
        """Whether the adapter fits ``model``'s head family."""
        return cls.mismatch(model) is None

    @classmethod
    def provided_fields(cls, model) -> Tuple[str, ...]:
        """The fields the adapter provides for ``model`` (which it fits).

        Args:
            model (nn.Module): A built detector.

        Returns:
            tuple[str]: The predictions, ``img_feat`` when the model has a
            backbone, and :attr:`provides`.
        """
        common = PREDICTION_FIELDS + (
            ('img_feat', ) if hasattr(model, 'backbone') else ())
        return common + tuple(cls.provides)

    @classmethod
    def hint(cls, model, missing: Sequence[str]) -> str:
        """Why the adapter, fitting ``model``, lacks ``missing``; '' if it
        has nothing to add."""
        if 'img_feat' in missing and not hasattr(model, 'backbone'):
            return (f'detector {model_name(model)} has no backbone, so it '
                    'cannot provide field img_feat')
        return ''

    # -- building ---------------------------------------------------------
    def __init__(self, model, fields: Sequence[str], score_tol: float = 1e-6):
        self.model = model
        self.fields = tuple(fields)
        self.score_tol = score_tol
        reason = self.mismatch(model)
        if reason is not None:
            raise StrategyError(f'{type(self).__name__} does not fit detector '
                                f'{describe_model(model)}: {reason}')
        missing = sorted(set(self.fields) - set(self.provided_fields(model)))
        if missing:
            hint = self.hint(model, missing)
            raise StrategyError(
                f'detector {describe_model(model)} cannot provide fields '
                f'{missing} through {type(self).__name__}' +
                (f': {hint}' if hint else ''))
        self._handles: List = []
        self._store: Dict[str, object] = {}
        self._active = False

    # -- hooks --------------------------------------------------------------
    def _hook(self,
              module,
              name: str,
              pre: bool = False,
              append: bool = False) -> None:
        """Keep ``module``'s output (or, with ``pre``, its input args) of
        the pass in ``self._store[name]`` (a list of them with
        ``append``)."""

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

    def _register_hooks(self) -> None:
        """Hooks of the requested fields; subclasses add theirs."""
        if 'img_feat' in self.fields:
            self._hook(self.model.backbone, 'backbone')

    def _release(self) -> None:
        """Undo what entering did besides the hooks."""

    def __enter__(self):
        self._register_hooks()
        self._active = True
        return self

    def __exit__(self, *exc):
        self._release()
        for h in self._handles:
            h.remove()
        self._handles = []
        self._store = {}
        self._active = False

    # -- running ------------------------------------------------------------
    @torch.no_grad()
    def run(self, batch) -> List[tuple]:
        """Run ``model.test_step(batch)`` once.

        Args:
            batch (dict): A batch from the test dataloader.

        Returns:
            list[tuple]: ``(sample, fields)`` per image: the
            ``DetDataSample`` and a dict of numpy arrays, one per requested
            field (shapes in :data:`mmal.strategies.FIELDS`).
        """
        if not self._active and set(self.fields) - set(PREDICTION_FIELDS):
            raise RuntimeError(
                f'use {type(self).__name__} as a context manager')
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
            out.update(self._fields(b, sample))
            results.append((sample, out))
        return results

    def _fields(self, b: int, sample) -> Dict[str, np.ndarray]:
        """The adapter's own fields of image ``b`` of the batch.

        Args:
            b (int): Index of the image in the batch.
            sample (DetDataSample): Its prediction.

        Returns:
            dict: Requested fields of :attr:`provides` as numpy arrays.
        """
        return {}

    def _img_feat(self, b: int, sample) -> np.ndarray:
        """(D,) average of the backbone's last (D, H, W) output over the
        valid area of image ``b``."""
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
