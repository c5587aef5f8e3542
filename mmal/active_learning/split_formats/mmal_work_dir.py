"""An mmal work dir's splits, as a :data:`SplitHistory`.

``cycle_<k>/labeled.json`` is cycle ``k``'s labeled set and
``cycle_<k>/selected.json`` its picks in pick order (for cycle 0 the
initial images, in the order they were recorded); file names come from the
labeled files. This is what ``tools/misc/convert_splits.py export`` reads,
and what the ``replay`` strategy reads with ``format='mmal'``.
"""
import os.path as osp
from typing import Dict, List, Optional

from mmal.registry import SPLIT_FORMATS
from ..pool import Pool, SplitError
from ..work_dir import CycleDir, WorkDir
from .split_format import (BaseSplitFormat, RecordedCycle, SplitHistory,
                           read_json_file)


def _labeled_names(path: str) -> Dict[int, str]:
    data = read_json_file(path, 'mmal labeled file')
    try:
        return {int(i['id']): i['file_name'] for i in data['images']}
    except (KeyError, TypeError, ValueError):
        raise SplitError(f'mmal labeled file {path!r} is not a COCO json '
                         'with image ids and file names') from None


@SPLIT_FORMATS.register_module(name=['mmal', 'MMALWorkDir'])
class MMALWorkDir(BaseSplitFormat):
    """The split files of an mmal work dir (read only)."""

    name = 'mmal'

    def cycle_file(self, source: str, k: int) -> str:
        return WorkDir(source).cycle(k).labeled

    def cycles(self, source: str) -> List[int]:
        wd = WorkDir(source)
        return [k for k in wd.cycles() if wd.cycle(k).has_split]

    def read_cycle(self,
                   source: str,
                   k: int,
                   prev: Optional[RecordedCycle] = None) -> RecordedCycle:
        cdir = WorkDir(source).cycle(k)
        return self._read(cdir, k, prev)

    def _read(self, cdir: CycleDir, k: int,
              prev: Optional[RecordedCycle]) -> RecordedCycle:
        names = _labeled_names(cdir.labeled)
        sel = read_json_file(cdir.selected, 'mmal selected file')
        ids = sel.get('image_ids') if isinstance(sel, dict) else None
        if not isinstance(ids, list) or any(i not in names for i in ids):
            raise SplitError(f'{cdir.selected}: "image_ids" must list images '
                             f'of {cdir.labeled}')
        picks = [names[i] for i in ids]
        if k == 0 or prev is None:
            rest = sorted(set(names) - set(ids))
            labeled = picks + [names[i] for i in rest]
            return RecordedCycle(labeled, picks if k else None, None,
                                 cdir.labeled)
        labeled = prev.labeled + picks
        if sorted(labeled) != sorted(names.values()):
            raise SplitError(f'{cdir.labeled}: not the labeled set of cycle '
                             f'{k - 1} plus the picks of {cdir.selected}')
        return RecordedCycle(labeled, picks, None, cdir.labeled)

    def read_file(self, path: str) -> RecordedCycle:
        if osp.basename(path) == CycleDir.LABELED:
            cdir = CycleDir(osp.dirname(path))
            return self._read(cdir, 0, None)
        raise SplitError(f'an mmal split is a work dir or a cycle folder\'s '
                         f'{CycleDir.LABELED}, got {path!r}')

    def write(self, history: SplitHistory, pool: Pool,
              out_dir: str) -> List[str]:
        raise SplitError('an mmal work dir is written by the loop: run it '
                         "with al.strategy=dict(type='replay', ...) and "
                         "al.initial=dict(split_file=..., format=...)")
