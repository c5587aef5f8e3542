"""BiB's splits (huyvvo/BiB, ECCV 2022).

``active_strategy/active_sampler.py`` (``BaseSampler.get_active_list_path``
and ``save_active_list``) writes, per selection cycle ``c >= 1``,
``<output_dir>/cycle<c>_<c * budget>_images.pkl`` (``_boxes.pkl`` when the
budget is in boxes): ``pickle.dump(active_images, f,
protocol=pickle.HIGHEST_PROTOCOL)`` (``pickle5``, protocol 5), the
cumulative list of the ``file_name`` of every image selected so far. The
samplers (e.g. ``random_sampler.py``, ``_select_uniform``) build it as the
previously selected images in dataset order followed by the new picks in
pick order. BiB starts from a weakly-supervised model with no labeled
image, so mmal's cycle ``c`` (``al.initial=0``) is BiB's cycle ``c``.

The lists are read with :class:`mmal.utils.safe_unpickler.
NumpyOnlyUnpickler`: a pickle holding anything but strings and lists is
refused before anything is imported. The ``_info.pkl`` next to each list
(BiB's argparse namespace) is neither read nor written.
"""
import glob
import io
import os.path as osp
import pickle
import re
from typing import List, Optional

from mmal.registry import SPLIT_FORMATS
from mmal.utils.safe_unpickler import NumpyOnlyUnpickler
from ..pool import Pool, SplitError
from .split_format import (BaseSplitFormat, NameMatcher, RecordedCycle,
                           SplitHistory, picks_from_growth, write_files)

#: BiB's pickle5 HIGHEST_PROTOCOL
PROTOCOL = 5


@SPLIT_FORMATS.register_module(name=['bib', 'BiBSplits'])
class BiBSplits(BaseSplitFormat):
    """BiB's cumulative pickled lists (see the module docstring).

    Args:
        unit (str): ``'images'`` or ``'boxes'``, the budget unit in the file
            names. Defaults to ``'images'``.
    """

    name = 'BiB'

    def __init__(self, unit: str = 'images'):
        if unit not in ('images', 'boxes'):
            raise SplitError(f"split format bib: unit must be 'images' or "
                             f"'boxes', got {unit!r}")
        self.unit = unit

    def cycle_file(self, source: str, k: int) -> str:
        found = sorted(
            glob.glob(
                osp.join(glob.escape(source), f'cycle{k}_*_{self.unit}.pkl')))
        found = [
            p for p in found if osp.basename(p)
            [len(f'cycle{k}_'):-len(f'_{self.unit}.pkl')].isdigit()
        ]
        if len(found) > 1:
            raise SplitError(f'{source!r} holds several BiB lists of cycle '
                             f'{k}: {[osp.basename(p) for p in found]}')
        return found[0] if found else osp.join(
            source, f'cycle{k}_<n>_{self.unit}.pkl')

    def _load(self, path: str) -> List[str]:
        if not osp.isfile(path):
            raise SplitError(f'BiB list {path!r} does not exist')
        try:
            with open(path, 'rb') as f:
                names = NumpyOnlyUnpickler(f, path).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise SplitError(
                f'BiB list {path!r} cannot be read: {e}') from None
        if not isinstance(names, list) or not all(
                isinstance(n, str) for n in names):
            raise SplitError(f'BiB list {path!r}: expected a list of file '
                             f'names, got {type(names).__name__}')
        return names

    def read_cycle(self,
                   source: str,
                   k: int,
                   prev: Optional[RecordedCycle] = None) -> RecordedCycle:
        path = self.cycle_file(source, k)
        labeled = self._load(path)
        if prev is not None:
            picks = picks_from_growth(prev.labeled, labeled)
        else:
            # cycle 1 after no labeled image: everything is a pick
            picks = labeled if k == 1 else None
        return RecordedCycle(labeled, picks, None, path)

    def read_file(self, path: str) -> RecordedCycle:
        return RecordedCycle(self._load(path), file=path)

    def write(self, history: SplitHistory, pool: Pool,
              out_dir: str) -> List[str]:
        matcher = NameMatcher.of_pool(pool)
        files, prev = {}, None
        for k in sorted(history):
            rec = history[k]
            labeled = matcher.ids(rec.labeled, rec.file or f'cycle {k}')
            if rec.picks is None or (prev is None and k != 1):
                order = labeled.tolist()
            else:
                picks = matcher.ids(rec.picks, rec.file or f'cycle {k}')
                before = sorted(prev or [])  # dataset order: ascending ids
                order = before + picks.tolist()
            prev = order
            if not order:
                continue  # BiB writes no list before its first selection
            names = [pool.images[i]['file_name'] for i in order]
            buf = io.BytesIO()
            pickle.dump(names, buf, protocol=PROTOCOL)
            name = f'cycle{k}_{len(names)}_{self.unit}.pkl'
            if rec.file and re.fullmatch(rf'cycle{k}_\d+_{self.unit}\.pkl',
                                         osp.basename(rec.file)):
                name = osp.basename(rec.file)  # keeps a box count
            files[osp.join(out_dir, name)] = buf.getvalue()
        return write_files(files)
