"""MI-AOD's splits (yuantn/MI-AOD, CVPR 2021).

A run's ``work_directory/<timestamp>/`` holds ``X_L_<k>.npy`` and
``X_U_<k>.npy`` for every cycle ``k`` (``tools/train.py``, function
``main``: ``np.save(cfg.work_directory + '/X_L_' + str(cycle) + '.npy',
X_L)``). They index the concatenation of the image lists of
``data.train.dataset.ann_file``, VOC2007 then VOC2012 ``trainval.txt``
(``mmdet/utils/active_datasets.py``: ``load_ann_list`` reads each with
``np.loadtxt(path, dtype='str')``; index ``i < len(VOC2007)`` is VOC2007's
``i``-th image, the rest VOC2012's). mmal's cycle ``k`` is MI-AOD's cycle
``k``.

- ``X_L_k`` (labeled): int64 (``np.arange`` indices), sorted ascending;
  ``X_L_{k+1}`` is ``X_L_k`` plus the picks, sorted (``update_X_L``).
- ``X_U_k`` is not the unlabeled pool but the unlabeled images MI-AOD
  trains on in cycle ``k``: as many as ``X_L_k``, drawn at random from the
  unlabeled pool (topped up with labeled images when the pool is short),
  sorted. A written ``X_U_k`` is drawn the same way with a seeded
  generator: it cannot equal MI-AOD's own draw.
"""
import io
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np

from mmal.registry import SPLIT_FORMATS
from ..pool import Pool, SplitError
from .split_format import (BaseSplitFormat, NameMatcher, RecordedCycle,
                           SplitHistory, picks_from_growth, write_files)


@SPLIT_FORMATS.register_module(name=['mi-aod', 'MIAODSplits'])
class MIAODSplits(BaseSplitFormat):
    """MI-AOD's index arrays (see the module docstring).

    Args:
        image_lists (Sequence[str]): The image lists the indices refer to,
            in MI-AOD's order: ``VOC2007/ImageSets/Main/trainval.txt``,
            ``VOC2012/ImageSets/Main/trainval.txt``.
        seed (int): Seed of the draw of written ``X_U_k`` files. Defaults
            to 0.
    """

    name = 'MI-AOD'

    def __init__(self, image_lists: Sequence[str], seed: int = 0):
        if isinstance(image_lists, str) or not image_lists:
            raise SplitError('split format mi-aod: image_lists must list '
                             'the trainval.txt files MI-AOD indexes '
                             '(VOC2007, then VOC2012)')
        self.image_lists = list(image_lists)
        self.seed = int(seed)
        self._names: Optional[List[str]] = None

    @property
    def names(self) -> List[str]:
        """The concatenated image list (read once)."""
        if self._names is None:
            names = []
            for path in self.image_lists:
                if not osp.isfile(path):
                    raise SplitError(f'MI-AOD image list {path!r} does not '
                                     'exist')
                with open(path) as f:
                    names += [ln.split()[0] for ln in f if ln.strip()]
            self._names = names
        return self._names

    def cycle_file(self, source: str, k: int) -> str:
        return osp.join(source, f'X_L_{k}.npy')

    def _load(self, path: str) -> List[str]:
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise SplitError(f'MI-AOD index file {path!r} is not a numpy '
                             f'array file: {e}') from None
        if arr.ndim != 1 or arr.dtype.kind not in 'iu':
            raise SplitError(f'MI-AOD index file {path!r}: expected a 1-D '
                             f'integer array, got {arr.dtype} of shape '
                             f'{arr.shape}')
        n = len(self.names)
        bad = arr[(arr < 0) | (arr >= n)]
        if bad.size:
            raise SplitError(
                f'MI-AOD index file {path!r}: indices {bad[:5].tolist()} '
                f'are outside the {n} images of {self.image_lists}')
        if np.unique(arr).size != arr.size:
            raise SplitError(f'MI-AOD index file {path!r}: indices repeat')
        return [self.names[i] for i in arr.tolist()]

    def read_cycle(self,
                   source: str,
                   k: int,
                   prev: Optional[RecordedCycle] = None) -> RecordedCycle:
        path = self.cycle_file(source, k)
        labeled = self._load(path)
        unl = osp.join(source, f'X_U_{k}.npy')
        unlabeled = self._load(unl) if osp.exists(unl) else None
        picks = picks_from_growth(prev.labeled, labeled) if prev else None
        return RecordedCycle(labeled, picks, unlabeled, path)

    def read_file(self, path: str) -> RecordedCycle:
        return RecordedCycle(self._load(path), file=path)

    def write(self, history: SplitHistory, pool: Pool,
              out_dir: str) -> List[str]:
        pool_names = NameMatcher.of_pool(pool)
        # pool image -> index in MI-AOD's list, through the file names
        index = NameMatcher(
            dict(enumerate(self.names)),
            f'the MI-AOD image lists {self.image_lists}')
        n = len(self.names)
        files = {}
        for k in sorted(history):
            rec = history[k]
            ids = pool_names.ids(rec.labeled, rec.file or f'cycle {k}')
            x_l = np.sort(
                index.ids([pool.images[int(i)]['file_name'] for i in ids],
                          f'cycle {k} labeled set'))
            if rec.unlabeled is not None:
                x_u = np.sort(
                    index.ids(rec.unlabeled, f'cycle {k} unlabeled set'))
            else:
                x_u = self._draw_unlabeled(x_l, n, k)
            files[osp.join(out_dir, f'X_L_{k}.npy')] = _npy(x_l)
            files[osp.join(out_dir, f'X_U_{k}.npy')] = _npy(x_u)
        return write_files(files)

    def _draw_unlabeled(self, x_l: np.ndarray, n: int, k: int) -> np.ndarray:
        """``update_X_L``'s draw of the unlabeled images trained on: as many
        as labeled, from the unlabeled pool, topped up with labeled ones."""
        rng = np.random.default_rng([self.seed, k])
        rest = rng.permutation(np.setdiff1d(np.arange(n), x_l))
        x_u = rest[:x_l.size]
        if x_u.size < x_l.size:
            x_u = np.concatenate(
                [x_u, rng.permutation(x_l)[:x_l.size - x_u.size]])
        return np.sort(x_u).astype(np.int64)


def _npy(arr: np.ndarray) -> bytes:
    """The bytes ``np.save`` writes for ``arr`` (int64, as MI-AOD's)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr, dtype=np.int64))
    return buf.getvalue()
