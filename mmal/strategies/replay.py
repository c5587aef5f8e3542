"""replay: the picks another run made, cycle by cycle.

Another codebase's selections (PPAL, BLAD / ComPAS, MI-AOD, BiB) or an mmal
run's are read from their files
(:mod:`mmal.active_learning.split_formats`) and returned unchanged, so the
loop trains and evaluates exactly those images with its own detector and
schedule: methods of several codebases compared without mixing their
training code.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import (BaseStrategy, Selection, SelectionContext,
                            StrategyError)


@STRATEGIES.register_module(name=['replay', 'Replay'])
class Replay(BaseStrategy):
    """Return, at the acquisition of cycle ``k``, the picks recorded for
    cycle ``k + 1``.

    The recorded files are read when the strategy is built and their file
    names are matched to the pool when the run starts
    (:meth:`begin_run`), so a missing file, an unreadable one or a name
    that is not a pool image is refused before any training. At each
    acquisition the picks must be unlabeled images of the pool (``al.
    pool_subsample`` must be off) and as many as the budget.

    Args:
        source (str, optional): The recorded run: a folder in ``format``'s
            layout (an mmal work dir, PPAL's ``output_dir``, BLAD's run
            folder, MI-AOD's timestamp folder, BiB's active-list folder).
        format (str): A registered split format: ``'mmal'``, ``'ppal'``,
            ``'blad'``, ``'mi-aod'``, ``'bib'``. Defaults to ``'mmal'``.
        format_options (dict, optional): The format's options (MI-AOD:
            ``image_lists``). Defaults to none.
        picks (Mapping[int, Sequence], optional): Picks given in the config
            instead of ``source``: cycle -> pool image ids or file names, in
            pick order.
    """

    requires = ()

    def __init__(self,
                 source: Optional[str] = None,
                 format: str = 'mmal',
                 format_options: Optional[dict] = None,
                 picks: Optional[Mapping[int, Sequence[Union[int,
                                                             str]]]] = None):
        if (source is None) == (picks is None):
            raise StrategyError(
                'replay needs the recorded picks: source=<folder> (with '
                "format='mmal' | 'ppal' | 'blad' | 'mi-aod' | 'bib') or "
                'picks={cycle: [ids or file names]}')
        self.source = source
        self._format = None
        self._files: Dict[int, str] = {}
        if source is not None:
            # imported here: mmal.active_learning imports mmal.strategies
            from mmal.active_learning.split_formats import build_split_format
            self._format = build_split_format(
                dict(type=format, **(format_options or {})))
            history = self._format.read(str(source))
            recorded = {
                k: rec.picks
                for k, rec in history.items() if rec.picks is not None
            }
            self._files = {k: rec.file for k, rec in history.items()}
        else:
            recorded = {int(k): list(v) for k, v in picks.items()}
        self._recorded: Dict[int, List[Union[int, str]]] = recorded
        self._ids: Dict[int, np.ndarray] = {}
        if all(
                isinstance(i, (int, np.integer)) for v in recorded.values()
                for i in v):
            self._ids = {
                k: np.asarray(v, dtype=np.int64)
                for k, v in recorded.items()
            }

    @classmethod
    def example(cls, pool_ids: Sequence[int], budget: int,
                rng: np.random.Generator) -> dict:
        """Hyper-parameters of a replay that works on a given pool (picks
        of a random selection of ``min(budget, pool)`` of ``pool_ids`` at
        cycle 0), for tests and examples."""
        ids = np.asarray(pool_ids, dtype=np.int64)
        k = min(budget, ids.size)
        return dict(picks={1: rng.choice(ids, k, replace=False).tolist()})

    def begin_run(self, file_names: Mapping[int, str]) -> None:
        """Match the recorded file names to the pool's images."""
        from mmal.active_learning.pool import SplitError
        from mmal.active_learning.split_formats import NameMatcher
        matcher = NameMatcher(file_names)
        try:
            self._ids = {
                k: (np.asarray(v, dtype=np.int64) if all(
                    isinstance(i, (int, np.integer))
                    for i in v) else matcher.ids(v, self._where(k)))
                for k, v in self._recorded.items()
            }
        except SplitError as e:
            raise StrategyError(f'replay: {e}') from None

    def _where(self, k: int) -> str:
        return self._files.get(k) or f'picks[{k}] of the config'

    def _expected_file(self, k: int) -> str:
        if self._format is None:
            return f'picks[{k}] in the config'
        return self._format.cycle_file(str(self.source), k)

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        k = context.cycle + 1
        if k not in self._recorded:
            have = sorted(self._recorded)
            raise StrategyError(
                f'replay: no recorded picks for cycle {k} (the acquisition '
                f'after cycle {context.cycle}): expected '
                f'{self._expected_file(k)}; recorded cycles: {have}')
        if k not in self._ids:
            raise StrategyError(
                'replay: the recorded picks are file names; they are '
                'matched to the pool when a run starts (begin_run), which '
                'did not happen here')
        ids = self._ids[k]
        pool = np.fromiter(summaries, dtype=np.int64)
        want = min(budget, pool.size)
        where = self._where(k)
        outside = np.setdiff1d(ids, pool)
        if outside.size:
            labeled = np.intersect1d(outside, context.labeled_ids)
            raise StrategyError(
                f'replay: {outside.size} of the {ids.size} picks of cycle '
                f'{k} ({where}) are not unlabeled pool images, e.g. '
                f'{outside[:5].tolist()}' +
                (f' ({labeled.size} are labeled already)' if labeled.
                 size else '') +
                ' (the recorded run must start from the same split; '
                'al.pool_subsample must be None)')
        if ids.size != want:
            raise StrategyError(
                f'replay: {ids.size} picks recorded for cycle {k} ({where}) '
                f'but the budget asks for {want} (min(al.budget={budget}, '
                f'unlabeled={pool.size})); set al.budget to the recorded '
                'run\'s')
        return Selection(ids=ids.copy(), extra=dict(replayed_from=str(where)))
