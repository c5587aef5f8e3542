"""The summary store: where the pool pass's per-image summaries live between
``strategy.summarize`` and ``strategy.select``.

This module alone knows the on-disk format, pages memory-mapped data in and
out and places arrays on a device; strategies see a :class:`Summaries`
(a read-only ``Mapping[int, Mapping[str, np.ndarray]]`` with column
access) and never a file, a memory map or a device decision.

Format: a store folder holds ``meta.json`` (what scored the pool: strategy,
fields, checkpoint) and one shard folder per chunk of images,
``rank<r>-<chunk>/``, written to a hidden temporary folder and renamed when
complete, with

- ``ids.npy``: (n,) int64 image ids, in scoring order;
- ``<key>.npy`` per summary field: the n values stacked (a field of
  scalars) or the n per-image arrays concatenated along their first axis;
- ``<key>.lengths.npy``: (n,) rows of each image in ``<key>.npy`` (array
  fields only);
- ``columns.json``: each field's per-image number of dimensions.

Plain ``.npy`` files, read back with no pickle; array fields are memory
mapped, so ``select`` reads only what it touches. Shards of the earlier
``rank*.npz`` format are refused with the cycle to re-score.
"""
import glob
import json
import mmap
import os
import os.path as osp
import shutil
import tempfile
import warnings
from typing import (Dict, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmengine.device import get_device

from mmal.strategies import StrategyError
from mmal.utils.disk_space import reported_disk_full
from mmal.utils.fileio import atomic_write_json
from .pool import SplitError
from .work_dir import read_record

META = 'meta.json'
COLUMNS = 'columns.json'
IDS = 'ids'
LENGTHS = '.lengths'
#: Images walked between two releases of their mapped pages.
RELEASE_EVERY = 256


def resolve_device(device: str = 'auto') -> torch.device:
    """``'auto'``: mmengine's device (the GPU of a GPU run), else the given
    one."""
    return torch.device(get_device() if device == 'auto' else device)


# ----------------------------------------------------------------------------
# encoding
def _encode(ids: Sequence[int],
            summaries: Sequence[Mapping]) -> Tuple[np.ndarray, Dict]:
    """``ids`` and, per field, ``(values, lengths or None, ndim)``."""
    keys = list(summaries[0]) if summaries else []
    columns = {}
    for n, s in enumerate(summaries):
        if list(s) != keys:
            raise StrategyError(
                f'summaries of one pool must have the same fields: image '
                f'{ids[n]} has {sorted(s)}, image {ids[0]} {sorted(keys)}')
    for key in keys:
        values = [np.asarray(s[key]) for s in summaries]
        if any(v.dtype == object for v in values):
            raise StrategyError(f'summary field {key!r} must be numeric '
                                'numpy data')
        ndims = {v.ndim for v in values}
        if len(ndims) > 1:
            raise StrategyError(f'summary field {key!r} has arrays of '
                                f'{sorted(ndims)} dimensions in one pool')
        ndim = ndims.pop()
        if ndim == 0:
            columns[key] = (np.stack(values), None, 0)
        else:
            columns[key] = (np.concatenate(values, axis=0),
                            np.array([len(v) for v in values], np.int64), ndim)
    return np.asarray(ids, dtype=np.int64).reshape(-1), columns


def _map_npy(path: str) -> Tuple[np.ndarray, Optional[mmap.mmap]]:
    """A ``.npy`` file as a read-only array over a memory map that this
    module owns (``np.load(mmap_mode='r')`` hides its map, which page
    release needs). Object arrays are refused (no pickle)."""
    with open(path, 'rb') as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0) else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        if dtype.hasobject:
            raise SplitError(f'{path}: holds Python objects, which summaries '
                             'may not')
        offset = f.tell()
        if int(np.prod(shape)) == 0:
            return np.empty(shape, dtype=dtype), None
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return np.ndarray(
        shape,
        dtype=dtype,
        buffer=mm,
        offset=offset,
        order='F' if fortran else 'C'), mm


def _release(maps) -> None:
    """Drop the process's mapping of the pages of ``maps``: the data stays
    on disk and in the page cache but leaves this process's memory."""
    for m in maps:
        if m is None:
            continue
        try:
            m.madvise(mmap.MADV_DONTNEED)
        except (AttributeError, OSError, ValueError):
            pass


# ----------------------------------------------------------------------------
# in-memory view
class _Column:
    """One field of many images: ``parts`` (arrays, possibly memory mapped)
    and, per image, the part and the rows of it that are its array."""

    def __init__(self, ndim: int, parts: List[np.ndarray],
                 maps: List[Optional[mmap.mmap]], part: np.ndarray,
                 start: np.ndarray, stop: np.ndarray):
        self.ndim = ndim
        self.parts, self.maps = parts, maps
        self.part, self.start, self.stop = part, start, stop

    def take(self, pos: np.ndarray) -> '_Column':
        return _Column(self.ndim, self.parts, self.maps, self.part[pos],
                       self.start[pos], self.stop[pos])

    def value(self, i: int):
        p, s = self.part[i], self.start[i]
        if self.ndim == 0:
            return self.parts[p][s]
        return self.parts[p][s:self.stop[i]]

    def release(self) -> None:
        _release(self.maps)


class Summaries(Mapping):
    """The summaries of a pool: image id -> ``{field: array}`` in a fixed
    image order, with column access for ``select``.

    Build one with :meth:`from_dict` (in memory) or
    :meth:`SummaryStore.read` (from shards); ``select`` receives one. Per
    image access (``summaries[img_id][field]``) returns views; the column
    methods below are the fast paths.
    """

    def __init__(self, ids: np.ndarray, columns: Dict[str, _Column]):
        self.ids = np.asarray(ids, dtype=np.int64)
        self._columns = columns
        self._pos: Optional[Dict[int, int]] = None

    @classmethod
    def from_dict(cls, summaries: Mapping[int, Mapping]) -> 'Summaries':
        """Summaries held in memory, in the mapping's order."""
        if isinstance(summaries, Summaries):
            return summaries
        ids, columns = _encode([int(i) for i in summaries],
                               list(summaries.values()))
        return cls(
            ids, {
                k: _make_column([v], [None], [n], nd)
                for k, (v, n, nd) in columns.items()
            })

    # -- Mapping -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def __contains__(self, img_id) -> bool:
        return int(img_id) in self.positions

    def __getitem__(self, img_id) -> Dict[str, np.ndarray]:
        return self.image(self.positions[int(img_id)])

    @property
    def positions(self) -> Dict[int, int]:
        """Image id -> its position in :attr:`ids`."""
        if self._pos is None:
            self._pos = {int(i): p for p, i in enumerate(self.ids.tolist())}
        return self._pos

    @property
    def fields(self) -> Tuple[str, ...]:
        return tuple(self._columns)

    def image(self, pos: int) -> Dict[str, np.ndarray]:
        """The summary of the image at position ``pos``."""
        return {k: c.value(pos) for k, c in self._columns.items()}

    # -- subsets -------------------------------------------------------------
    def take(self, ids) -> 'Summaries':
        """The summaries of ``ids``, in that order (no copy)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        missing = [int(i) for i in ids if int(i) not in self.positions]
        if missing:
            raise StrategyError(f'images {missing[:5]} have no summary')
        pos = np.array([self.positions[int(i)] for i in ids], np.int64)
        return Summaries(ids, {
            k: c.take(pos)
            for k, c in self._columns.items()
        })

    # -- columns -------------------------------------------------------------
    def _column(self, key: str, ndim=None) -> _Column:
        if key not in self._columns:
            raise StrategyError(f'summaries have no field {key!r} (fields: '
                                f'{sorted(self._columns)})')
        col = self._columns[key]
        if ndim is not None and col.ndim not in ndim:
            raise StrategyError(f'summary field {key!r} has {col.ndim}-d '
                                f'values per image, expected {ndim}')
        return col

    def column(self, key: str, dtype=np.float64) -> np.ndarray:
        """A field of one scalar per image as an (N,) array."""
        col = self._column(key, (0, ))
        if not len(self):
            return np.zeros(0, dtype=dtype)
        out = np.empty(len(self), dtype=dtype)
        for p in np.unique(col.part):
            mask = col.part == p
            out[mask] = col.parts[p][col.start[mask]]
        return out

    def lengths(self, key: str) -> np.ndarray:
        """(N,) rows of each image's array of field ``key``."""
        col = self._column(key, (1, 2, 3))
        return col.stop - col.start

    def stack(self,
              key: str,
              dtype=np.float32,
              device: Optional[Union[str, torch.device]] = None,
              chunk: int = 4096):
        """A field of one (D,) vector per image as an (N, D) array (a
        tensor on ``device`` when given), releasing the copied pages every
        ``chunk`` rows so the features are in memory once."""
        col = self._column(key, (1, ))
        n = len(self)
        dim = int(col.stop[0] - col.start[0]) if n else 0
        out = np.empty((n, dim), dtype=dtype)
        for lo in range(0, n, chunk):
            for r in range(lo, min(n, lo + chunk)):
                out[r] = col.value(r)
            col.release()
        if device is None:
            return out
        return torch.from_numpy(out).to(
            resolve_device(device) if isinstance(device, str) else device)

    def walk(self,
             positions: Sequence[int],
             every: int = RELEASE_EVERY) -> Iterator[Tuple[int, Dict]]:
        """``(pos, summary)`` for ``positions`` in order; the mapped pages
        read are released every ``every`` images."""
        for n, pos in enumerate(positions):
            if n and n % every == 0:
                self.release()
            yield pos, self.image(int(pos))

    def release(self) -> None:
        """Release the mapped pages of every field (data stays on disk)."""
        for col in self._columns.values():
            col.release()

    def matrix(self,
               key: str,
               block_size: int = 8192,
               device: Union[str, torch.device] = 'auto') -> 'RowMatrix':
        """The (P_i, F) arrays of field ``key`` of every image as the rows of
        one (P, F) matrix, in image order, read on ``device`` (``'auto'``:
        mmengine's device)."""
        return RowMatrix(self._column(key, (2, )), block_size, device)


def _make_column(parts, maps, lengths, ndim) -> _Column:
    """A column over ``parts``, each with per-image ``lengths`` (None for
    scalars: one value per image)."""
    part, start, stop = [], [], []
    for p, (arr, n) in enumerate(zip(parts, lengths)):
        if n is None:
            count = len(arr)
            s = np.arange(count, dtype=np.int64)
            e = s + 1
        else:
            count = len(n)
            e = np.cumsum(n)
            s = e - n
        part.append(np.full(count, p, np.int64))
        start.append(s)
        stop.append(e)

    def cat(x):
        return np.concatenate(x) if x else np.zeros(0, np.int64)

    return _Column(ndim, list(parts), list(maps), cat(part), cat(start),
                   cat(stop))


class RowMatrix:
    """The per-image (P_i, F) arrays of one field as a (P, F) matrix read in
    blocks of at most ``block_size`` rows.

    Images whose rows follow each other in one shard form one run, so a
    block is a slice of a memory map and nothing is copied until it is
    used. On a GPU with room for them (half its free memory) the blocks are
    uploaded once, in their stored dtype, and every later pass reads them
    there.

    Attributes:
        num_rows (int): P.
        dim (int): F.
        row_image (np.ndarray): (P,) position of each row's image.
        device (torch.device): Where :meth:`iter_blocks` puts the blocks.
    """

    def __init__(self,
                 col: _Column,
                 block_size: int = 8192,
                 device: Union[str, torch.device] = 'auto'):
        self.block_size = max(1, int(block_size))
        self.device = resolve_device(device) if isinstance(device,
                                                           str) else device
        n_rows = col.stop - col.start
        self.row_image = np.repeat(np.arange(len(n_rows)), n_rows)
        self.num_rows = int(n_rows.sum())
        dims = {
            col.parts[p].shape[1]
            for p in np.unique(col.part) if len(col.parts[p])
        } if len(n_rows) else set()
        if len(dims) > 1:
            raise StrategyError(f'rows of {sorted(dims)} features in one '
                                'matrix')
        self.dim = dims.pop() if dims else 0
        self.maps = col.maps
        runs: List[Tuple[int, int, int]] = []  # part, start, stop
        for p, s, e in zip(col.part.tolist(), col.start.tolist(),
                           col.stop.tolist()):
            if e == s:
                continue
            if runs and runs[-1][0] == p and runs[-1][2] == s:
                runs[-1] = (p, runs[-1][1], e)
            else:
                runs.append((p, s, e))
        self.blocks: List[Tuple[int, np.ndarray]] = []
        for p, s, e in runs:
            for lo in range(s, e, self.block_size):
                self.blocks.append(
                    (p, col.parts[p][lo:min(e, lo + self.block_size)]))
        sizes = np.array([len(b) for _, b in self.blocks], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self._resident: Optional[List[torch.Tensor]] = None

    def rows(self, index) -> np.ndarray:
        """Rows ``index`` of the matrix, as a float32 array."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        out = np.empty((len(index), self.dim), dtype=np.float32)
        block = np.searchsorted(self.starts, index, side='right') - 1
        for k, (b, i) in enumerate(zip(block, index)):
            out[k] = self.blocks[b][1][i - self.starts[b]]
        return out

    def _upload(self) -> bool:
        device = self.device
        if self._resident is not None:
            return True
        if device.type != 'cuda':
            return False
        nbytes = sum(b.nbytes for _, b in self.blocks)
        free, _ = torch.cuda.mem_get_info(device)
        if nbytes > free // 2:
            return False
        self._resident = []
        for p, block in self.blocks:
            self._resident.append(torch.from_numpy(np.array(block)).to(device))
            _release([self.maps[p]])
        return True

    def iter_blocks(self):
        """``(start, x)`` per block, ``x`` a float32 tensor on
        :attr:`device`; the pages of each block are released after use."""
        device = self.device
        if self._upload():
            for start, x in zip(self.starts[:-1], self._resident):
                yield int(start), x.float()
            return
        for start, (p, block) in zip(self.starts[:-1], self.blocks):
            with warnings.catch_warnings():  # read-only maps: only read
                warnings.simplefilter('ignore', UserWarning)
                x = torch.from_numpy(np.asarray(block))
            yield int(start), x.to(device, torch.float32)
            _release([self.maps[p]])

    def iter_selected(self, mask: np.ndarray):
        """``(index, x)`` per block with rows in the boolean ``mask`` (P,):
        ``index`` their row numbers, ``x`` those rows only, as a float32
        tensor on :attr:`device` (the other rows are not read); the pages
        of each block are released after use. ``x`` is valid until the
        next block: from disk, the rows go through buffers reused from
        block to block (a fresh float32 copy of each block costs more in
        page faults than the conversion itself)."""
        mask = np.asarray(mask, dtype=bool)
        resident = self._upload()
        raw = out = None
        for b, (start,
                (p, block)) in enumerate(zip(self.starts[:-1], self.blocks)):
            local = np.flatnonzero(mask[start:start + len(block)])
            if not len(local):
                continue
            if resident:
                x = self._resident[b][torch.from_numpy(local).to(
                    self.device)].float()
            else:
                if raw is None or len(raw) < len(local) or \
                        raw.dtype != block.dtype:
                    rows = max(len(local), 0 if raw is None else len(raw))
                    raw = np.empty((rows, ) + block.shape[1:], block.dtype)
                    out = torch.empty(
                        (rows, ) + block.shape[1:], device=self.device)
                np.take(block, local, axis=0, out=raw[:len(local)])
                x = out[:len(local)]
                x.copy_(torch.from_numpy(raw[:len(local)]))
                _release([self.maps[p]])
            yield int(start) + local, x


# ----------------------------------------------------------------------------
# on disk
def write_shard(path: str,
                ids: Sequence[int],
                summaries: Sequence[Mapping],
                images_to_come: int = 0) -> None:
    """Write one shard folder atomically: its files go to a hidden
    temporary folder next to ``path``, which is renamed to ``path`` once
    every file is on disk. A full disk is a :class:`DiskFullError` naming
    the folder and about how much the rest of the pool pass needs
    (this shard and ``images_to_come`` more images like its)."""
    ids, columns = _encode(ids, summaries)
    arrays = {IDS: ids}
    for key, (values, lengths, _) in columns.items():
        arrays[key] = values
        if lengths is not None:
            arrays[key + LENGTHS] = lengths
    need = sum(a.nbytes for a in arrays.values())
    need += need * images_to_come // max(1, len(ids))
    parent = osp.dirname(osp.abspath(path))
    with reported_disk_full(parent, 'writing the pool summaries to', need):
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(
            prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=parent)
        try:
            for name, arr in arrays.items():
                with open(osp.join(tmp, name + '.npy'), 'wb') as f:
                    np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
                    f.flush()
                    os.fsync(f.fileno())
            atomic_write_json({
                k: c[2]
                for k, c in columns.items()
            }, osp.join(tmp, COLUMNS))
            os.rename(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


class SummaryWriter:
    """Streams one rank's summaries to shard folders of ``shard_size``
    images (a kill loses at most the images of the unfinished shard).

    Args:
        store (SummaryStore): The store.
        rank (int): The writing process's rank.
        shard_size (int): Images per shard. Defaults to 256.
        expected (int): Images this rank will write in all, for the space
            a full disk reports as needed. Defaults to 0 (unknown).
    """

    def __init__(self,
                 store: 'SummaryStore',
                 rank: int,
                 shard_size: int = 256,
                 expected: int = 0):
        self.store, self.rank = store, rank
        self.shard_size = shard_size
        self.expected, self.written = expected, 0
        self.chunk = len(store.shard_paths(rank))
        self.ids: List[int] = []
        self.summaries: List[Mapping] = []

    def add(self, img_id: int, summary: Mapping) -> None:
        self.ids.append(int(img_id))
        self.summaries.append(summary)
        if len(self.ids) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        if not self.ids:
            return
        self.written += len(self.ids)
        write_shard(
            osp.join(self.store.root, f'rank{self.rank}-{self.chunk:05d}'),
            self.ids, self.summaries, max(0, self.expected - self.written))
        self.chunk += 1
        self.ids, self.summaries = [], []


class SummaryStore:
    """A folder of summary shards and the ``meta.json`` that says what
    scored them.

    Args:
        root (str): The folder (``cycle_<k>/acquisition``).
    """

    def __init__(self, root: str):
        self.root = root

    def shard_paths(self, rank: Optional[int] = None) -> List[str]:
        pattern = 'rank*-*' if rank is None else f'rank{rank}-*'
        return sorted(
            p for p in glob.glob(osp.join(self.root, pattern)) if osp.isdir(p))

    def check_format(self) -> None:
        """Refuse shards of the earlier single-file format."""
        old = glob.glob(osp.join(self.root, 'rank*.npz'))
        if old:
            raise SplitError(
                f'{self.root} holds summaries in an earlier mmal format '
                f'({osp.basename(old[0])}); delete {self.root} to re-score '
                f'the pool of {osp.basename(osp.dirname(self.root))}')

    @property
    def meta(self) -> Optional[dict]:
        path = osp.join(self.root, META)
        if not osp.exists(path):
            return None
        return read_record(path)

    def prepare(self, meta: dict) -> np.ndarray:
        """Start or resume a pass described by ``meta``: shards of another
        pass (other strategy, fields or checkpoint) and leftovers of killed
        writes are removed. Returns the ids already scored."""
        self.check_format()
        meta = json.loads(json.dumps(meta))  # tuples as lists, as read back
        os.makedirs(self.root, exist_ok=True)
        for tmp in glob.glob(osp.join(self.root, '.*.tmp')):
            shutil.rmtree(tmp, ignore_errors=True)
        if self.meta not in (None, meta):
            for p in self.shard_paths():
                shutil.rmtree(p)
        atomic_write_json(meta, osp.join(self.root, META), indent=1)
        return self.scored_ids()

    def scored_ids(self) -> np.ndarray:
        """The ids of every shard, sorted."""
        parts = [
            np.load(osp.join(p, IDS + '.npy')) for p in self.shard_paths()
        ]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(
            0, np.int64)

    def writer(self,
               rank: int,
               shard_size: int = 256,
               expected: int = 0) -> SummaryWriter:
        return SummaryWriter(self, rank, shard_size, expected)

    def read(self, ids: Optional[Sequence[int]] = None) -> Summaries:
        """The summaries of every shard (``ids``: of these, in this order;
        raises if one is missing); array fields stay memory mapped."""
        self.check_format()
        all_ids, parts = [], {}
        ndims: Dict[str, int] = {}
        for path in self.shard_paths():
            all_ids.append(np.load(osp.join(path, IDS + '.npy')))
            with open(osp.join(path, COLUMNS)) as f:
                cols = json.load(f)
            if parts and set(cols) != set(parts):
                raise SplitError(f'{path}: fields {sorted(cols)}, other '
                                 f'shards {sorted(parts)}')
            for key, ndim in cols.items():
                ndims[key] = ndim
                file = osp.join(path, key + '.npy')
                if ndim == 0:
                    arr, mm, n = np.load(file, allow_pickle=False), None, None
                else:
                    arr, mm = _map_npy(file)
                    n = np.load(osp.join(path, key + LENGTHS + '.npy'))
                parts.setdefault(key, []).append((arr, mm, n))
        ids_all = np.concatenate(all_ids) if all_ids else np.zeros(0, np.int64)
        uniq, counts = np.unique(ids_all, return_counts=True)
        if (counts > 1).any():
            raise SplitError(f'{self.root}: images '
                             f'{uniq[counts > 1][:5].tolist()} were scored '
                             'in two shards')
        columns = {
            k:
            _make_column([a for a, _, _ in v], [m for _, m, _ in v],
                         [n for _, _, n in v], ndims[k])
            for k, v in parts.items()
        }
        summaries = Summaries(ids_all, columns)
        if ids is None:
            return summaries
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        missing = np.setdiff1d(ids, ids_all)
        if missing.size:
            raise SplitError(f'{self.root}: images {missing[:5].tolist()} '
                             'were not scored')
        return summaries.take(ids)
