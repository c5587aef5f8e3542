"""The contract every acquisition strategy follows.

A strategy is built from its hyper-parameters only (``STRATEGIES.build(
dict(type=..., **hyper_parameters))``) and is called in two phases:

1. ``summarize(fields)`` once per unlabeled image, on the process that ran
   the detector on it. ``fields`` holds exactly the per-image numpy arrays
   named in :attr:`BaseStrategy.requires` (see :data:`FIELDS`). It returns a
   small dict of numpy arrays / scalars, which the runner writes to disk:
   keep it compact (a score, a few prototypes), not the raw detections.
2. ``select(summaries, budget, context, rng)`` once per cycle, on rank 0,
   over the summaries of the whole (sub-sampled) pool: a
   :class:`mmal.active_learning.summary_store.Summaries` (a read-only
   mapping image id -> summary, with ``ids``, ``column(key)`` (N,),
   ``stack(key)`` (N, D), ``matrix(key)`` for block-wise rows and
   ``walk(positions)``; in memory:
   ``Summaries.from_dict({id: summary})``). It returns exactly
   ``min(budget, len(summaries))`` unique ids of ``summaries``, draws any
   randomness from ``rng`` only and does no I/O. Where data lives (disk,
   memory, GPU) is the store's business, never the strategy's.

Building blocks: :class:`RankingStrategy` (score, then top-b) and the
selection algorithms in :mod:`mmal.strategies.functional`.
"""
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

#: Per-image fields a strategy may require, and their shapes; ``N`` is the
#: number of detections kept by the detector's test config, ``C`` the number
#: of classes, ``D`` a feature size.
FIELDS: Dict[str, str] = {
    'bboxes':
    '(N, 4) float, x1 y1 x2 y2 in original image pixels',
    'scores':
    '(N,) float, the score of each detection',
    'labels':
    '(N,) int, the class of each detection in [0, C)',
    'cls_probs':
    '(N, C + 1) float, class distribution, background last',
    'feats':
    '(N, D) float, one instance feature per detection',
    'box_feats':
    '(N, D) float, the instance feature pooled at each '
    "detection's final box (one more RoI-head pass)",
    'query_boxes':
    '(M, 4) float, x1 y1 x2 y2 in original image pixels: the '
    "boxes the strategy's query_boxes(img_id) asks features for ((0, 4): "
    'none)',
    'query_feats':
    '(M, D) float, the instance feature pooled at each of the '
    'query_boxes (one more RoI-head pass)',
    'img_feat':
    '(D,) float, a pooled image feature',
    'img_labels':
    '(K,) int, image-level classes in [0, C) (ground-truth '
    'classes of the pool when emulating with GroundTruthOracle)',
    'loss':
    '() float, a per-image loss',
    'pass_ious':
    "(P, N) float: in each of the P extra passes the strategy declares "
    '(extra_passes), the IoU of the detection that best overlaps each of '
    "the N detections (0: the pass has none)",
    'pass_cls_probs':
    '(P, N, C + 1) float: the class distribution of that best-overlapping '
    'detection (background one-hot when the pass has none)',
    'pass_class_scores':
    '(P, C) float: the highest detection score of each class in each '
    'extra pass (0: no detection of the class)',
}

#: Fields that need a forward pass of the detector.
MODEL_FIELDS = frozenset(FIELDS) - {'img_labels', 'query_boxes'}

#: Summary fields that tools may read (e.g.
#: ``tools/analysis/visualize_selection.py`` draws them). A strategy lists
#: the ones its summaries hold in :attr:`BaseStrategy.display_fields`;
#: tools read no other summary key.
DISPLAY_FIELDS: Dict[str, str] = {
    'det_boxes': '(K, 4) float, x1 y1 x2 y2: the detections the strategy '
    'looked at',
    'det_scores': '(K,) float, their scores',
    'det_labels': '(K,) int, their classes',
    'pair_boxes': '(P, 8) float, box pairs: small box then large box',
    'pair_labels': '(P,) int, the class of each pair',
}


@dataclass
class SelectionContext:
    """What ``select`` may know besides the pool's summaries.

    Attributes:
        labeled_ids (np.ndarray): Ids of the labeled images, (L,).
        class_counts (np.ndarray): Boxes per class in the labeled set, (C,).
        class_image_counts (np.ndarray): Labeled images containing each
            class, (C,).
        num_classes (int): C.
        cycle (int): Index of the cycle whose model scored the pool (the
            selection feeds cycle ``cycle + 1``).
        labeled_summaries (Mapping, optional): Summaries of the labeled
            images, for strategies with ``uses_labeled = True`` (e.g.
            core-set, whose initial centres are the labeled images).
        train_state (Mapping, optional): The entries named in the
            strategy's :attr:`BaseStrategy.train_state` that training hooks
            saved with the scoring checkpoint (e.g. PPAL's class-wise
            difficulty ``class_quality``, (C,)), as numpy arrays.
    """
    labeled_ids: np.ndarray
    class_counts: np.ndarray
    class_image_counts: np.ndarray
    num_classes: int
    cycle: int = 0
    labeled_summaries: Optional[Mapping[int, Mapping[str, np.ndarray]]] = None
    train_state: Optional[Mapping[str, np.ndarray]] = None


@dataclass
class Selection:
    """The output of ``select``: ids in pick order and, where the strategy
    has them, the acquisition score of each pick (for top-b strategies
    decreasing; for sequential ones such as DivProto or core-set, the value
    that decided the pick, in pick order)."""
    ids: np.ndarray
    scores: Optional[np.ndarray] = None
    extra: dict = field(default_factory=dict)


class StrategyError(RuntimeError):
    """A strategy broke its contract or lacks what it needs."""


class BaseStrategy:
    """Base class of acquisition strategies; see the module docstring.

    Subclasses set :attr:`requires` and override :meth:`select`, and
    :meth:`summarize` when the raw fields are too big to keep per image.
    """

    #: Per-image fields (keys of :data:`FIELDS`) the runner must compute.
    requires: Tuple[str, ...] = ()
    #: Whether the labeled images are summarised too (passed to ``select``
    #: as ``context.labeled_summaries``); costs a pass over them.
    uses_labeled: bool = False
    #: Keys of :data:`DISPLAY_FIELDS` that :meth:`summarize` writes, for
    #: tools (recorded with the summaries).
    display_fields: Tuple[str, ...] = ()
    #: Entries of the scoring checkpoint's train state (saved by a training
    #: hook that declares them, see ``mmal.engine.hooks.TrainStateHook``)
    #: that :meth:`select` reads from ``context.train_state``.
    train_state: Tuple[str, ...] = ()
    #: Extra forward passes per image, as configs of
    #: :data:`mmal.registry.PROBE_PASSES` (e.g. ``dict(type='DropoutPass',
    #: times=10)``), run after the detector's own pass; they provide the
    #: ``pass_*`` fields, whose P is the sum of their ``times``.
    extra_passes: Tuple[dict, ...] = ()

    def summarize(self, fields: Mapping[str, np.ndarray]) -> Dict[str, object]:
        """Reduce one image's fields to what :meth:`select` needs.

        Args:
            fields (Mapping[str, np.ndarray]): The :attr:`requires` fields.

        Returns:
            dict: Numpy arrays or scalars. Defaults to the fields themselves.
        """
        return {k: fields[k] for k in self.requires}

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        """Choose images to label. Must return ``min(budget, pool)`` unique
        ids of ``summaries``, use only ``rng`` and do no I/O."""
        raise NotImplementedError

    def query_boxes(self, img_id: int) -> np.ndarray:
        """For strategies requiring ``query_feats``: the (M, 4) boxes, in
        original image pixels, at which the pool pass pools instance
        features for image ``img_id`` (given to :meth:`summarize` as
        ``query_boxes``). Defaults to none."""
        return np.zeros((0, 4), np.float32)

    def begin_run(self, file_names: Mapping[int, str]) -> None:
        """Called once on every process when a run starts, before any
        work, with the pool's file names (image id -> ``file_name``), for
        strategies that refer to images by file name (``replay``). Raise
        :class:`StrategyError` to refuse the run. Does nothing by default.
        """

    def begin_cycle(self, cycle: int, history: Sequence[Mapping] = ()) -> None:
        """Called on every process before the pool pass of a cycle (so
        before :meth:`summarize`). Does nothing by default.

        Args:
            cycle (int): Index of the cycle whose model scores the pool
                (``context.cycle`` of the coming :meth:`select`).
            history (Sequence[Mapping]): The ``extra`` of every earlier
                selection of the run, oldest first (``details`` of each
                ``cycle_<j>/selected.json``, j = 1..cycle), for strategies
                that record facts at selection time and use them later.
        """

    def describe(self) -> dict:
        """The strategy's config, as recorded in ``selected.json``."""
        return dict(getattr(self, '_cfg', {'type': type(self).__name__}))

    # helpers for subclasses -------------------------------------------------
    def labeled_summaries(self, context: SelectionContext,
                          what: str) -> Mapping[int, Mapping[str, np.ndarray]]:
        """``context.labeled_summaries`` for ``uses_labeled`` strategies:
        ``{}`` when there are no labeled images, an error naming ``what``
        is needed when there are some but they were not summarised."""
        labeled = context.labeled_summaries
        if labeled is None:
            if len(context.labeled_ids):
                raise StrategyError(
                    f'{type(self).__name__} needs the labeled images\' '
                    f'{what} (context.labeled_summaries) as initial centres')
            return {}
        return labeled

    def train_state_entry(self, context: SelectionContext,
                          name: str) -> np.ndarray:
        """Entry ``name`` of ``context.train_state``; an error naming it
        and the hook that saves it when it is missing."""
        state = context.train_state or {}
        if name not in state:
            raise StrategyError(
                f'{type(self).__name__} needs {name!r} from the training '
                'state saved with the checkpoint (context.train_state), got '
                f'{sorted(state)}: train with a hook that saves it (see '
                'mmal.engine.hooks.TrainStateHook)')
        return np.asarray(state[name])


def check_selection(strategy: BaseStrategy, selection: Selection,
                    pool_ids: np.ndarray, budget: int) -> Selection:
    """Raise :class:`StrategyError` if ``selection`` breaks the contract."""
    name = type(strategy).__name__
    if not isinstance(selection, Selection):
        raise StrategyError(f'{name}.select must return a Selection, got '
                            f'{type(selection).__name__}')
    ids = np.asarray(selection.ids, dtype=np.int64).reshape(-1)
    want = min(budget, len(pool_ids))
    if ids.size != want:
        raise StrategyError(f'{name}.select returned {ids.size} ids; '
                            f'expected min(budget={budget}, pool='
                            f'{len(pool_ids)}) = {want}')
    if np.unique(ids).size != ids.size:
        raise StrategyError(f'{name}.select returned repeated ids')
    outside = np.setdiff1d(ids, pool_ids)
    if outside.size:
        raise StrategyError(f'{name}.select returned ids not in the pool: '
                            f'{outside[:5].tolist()}')
    scores = selection.scores
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.size != ids.size:
            raise StrategyError(f'{name}.select returned {scores.size} '
                                f'scores for {ids.size} ids')
    return Selection(ids=ids, scores=scores, extra=selection.extra)
