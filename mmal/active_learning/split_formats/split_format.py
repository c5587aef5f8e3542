"""What every split format of another codebase provides.

A run's splits, whatever the codebase, are per cycle ``k`` the labeled set
cycle ``k`` trains on and the images its acquisition added (the picks of
cycle ``k``, in pick order). A format turns its files into that history
(:meth:`BaseSplitFormat.read`, file names only) and writes a history the
way its codebase writes it (:meth:`BaseSplitFormat.write`), so that:

- a peer's initial split seeds mmal's cycle 0
  (``al.initial=dict(split_file=..., format=...)``);
- a peer's (or an mmal run's) picks are replayed by the ``replay``
  strategy;
- an mmal run's cycles are exported for the peer's code
  (``tools/misc/convert_splits.py export``).

File names are matched to pool images by :class:`NameMatcher`: the whole
``file_name``, else its base name, else its stem (``000005`` for VOC ids).
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from mmal.registry import SPLIT_FORMATS
from ..pool import Pool, SplitError


@dataclass
class RecordedCycle:
    """One cycle of a recorded run.

    Attributes:
        labeled (list[str]): File names of the labeled set the cycle trains
            on, in the order the codebase recorded them.
        picks (list[str], optional): The images the acquisition before the
            cycle added, in pick order; None for a cycle without a recorded
            acquisition (the initial split).
        unlabeled (list[str], optional): The codebase's own unlabeled file
            as recorded (its order; for MI-AOD the unlabeled subset it
            trains on), kept only to write it back; mmal's unlabeled set is
            always the pool minus ``labeled``.
        file (str): The file the labeled set was read from, for messages.
    """
    labeled: List[str]
    picks: Optional[List[str]] = None
    unlabeled: Optional[List[str]] = None
    file: str = ''


#: cycle index -> what was recorded for it
SplitHistory = Dict[int, RecordedCycle]


def picks_from_growth(prev: Sequence[str], cur: Sequence[str]) -> List[str]:
    """The names of ``cur`` not in ``prev``, in ``cur``'s order."""
    seen = set(prev)
    return [n for n in cur if n not in seen]


def dump_like_python(obj) -> str:
    """``json.dump(obj, f)`` with Python's defaults, as the peers write
    their COCO files (``ensure_ascii``, ``', '`` / ``': '`` separators, no
    indent), so that written files compare byte for byte."""
    return json.dumps(obj)


def read_json_file(path: str, what: str):
    """A json file of a peer's run; a missing or broken one is a
    :class:`SplitError` naming it."""
    if not osp.isfile(path):
        raise SplitError(f'{what} {path!r} does not exist')
    try:
        with open(path) as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise SplitError(f'{what} {path!r} is not valid json: {e}') from None


def coco_file_names(path: str, what: str) -> List[str]:
    """The ``file_name`` of every image of a COCO json, in file order."""
    data = read_json_file(path, what)
    images = data.get('images') if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise SplitError(f'{what} {path!r}: expected a COCO json with an '
                         '"images" list')
    names = []
    for i, img in enumerate(images):
        name = img.get('file_name') if isinstance(img, dict) else None
        if not isinstance(name, str):
            raise SplitError(f'{what} {path!r}: images[{i}] has no string '
                             '"file_name"')
        names.append(name)
    return names


class NameMatcher:
    """Pool image ids of file names written by another codebase.

    A name matches the pool image whose ``file_name`` it equals, else whose
    base name it equals, else whose stem (base name without extension) it
    equals; a name matching two pool images at one level is ambiguous.

    Args:
        file_names (Mapping[int, str]): Pool image id -> ``file_name``.
        where (str): The pool, for messages.
    """

    def __init__(self, file_names: Mapping[int, str], where: str = 'the pool'):
        self.where = where
        self.file_names = {int(i): n for i, n in file_names.items()}
        self._levels = []
        for key in (lambda n: n, osp.basename, _stem):
            index: Dict[str, List[int]] = {}
            for i, n in self.file_names.items():
                index.setdefault(key(n), []).append(i)
            self._levels.append((key, index))

    @classmethod
    def of_pool(cls, pool: Pool) -> 'NameMatcher':
        return cls({
            i: img['file_name']
            for i, img in pool.images.items()
        }, f'the pool {pool.ann_file!r}')

    def ids(self, names: Iterable[str], where: str) -> np.ndarray:
        """The pool ids of ``names``, in their order.

        Raises:
            SplitError: Naming ``where``, how many names did not match (or
                matched two pool images) and the first of them.
        """
        names = list(names)
        out, unmatched, ambiguous = [], [], []
        for name in names:
            found = None
            for key, index in self._levels:
                hits = index.get(key(name))
                if hits:
                    found = hits
                    break
            if not found:
                unmatched.append(name)
            elif len(found) > 1:
                ambiguous.append(name)
            else:
                out.append(found[0])
        if unmatched or ambiguous:
            parts = []
            if unmatched:
                parts.append(f'{len(unmatched)} match none, e.g. '
                             f'{unmatched[:5]}')
            if ambiguous:
                parts.append(f'{len(ambiguous)} match several, e.g. '
                             f'{ambiguous[:5]}')
            raise SplitError(
                f'{where}: {len(unmatched) + len(ambiguous)} of {len(names)} '
                f'file names are not images of {self.where}: ' +
                '; '.join(parts) + ' (names are matched by file_name, base '
                'name, then stem)')
        arr = np.asarray(out, dtype=np.int64)
        if np.unique(arr).size != arr.size:
            raise SplitError(f'{where}: some file names repeat')
        return arr


def _stem(name: str) -> str:
    return osp.splitext(osp.basename(name))[0]


class BaseSplitFormat:
    """A codebase's split files, read into and written from a
    :data:`SplitHistory`.

    ``source`` is either a folder with the codebase's per-cycle files (see
    each format's docstring for the layout) or a single file, which is the
    labeled set of cycle 0 (an initial split).
    """

    #: name in messages
    name = 'split format'

    def cycle_file(self, source: str, k: int) -> str:
        """The file that holds cycle ``k``'s labeled set under the folder
        ``source`` (it need not exist)."""
        raise NotImplementedError

    def read_cycle(self,
                   source: str,
                   k: int,
                   prev: Optional[RecordedCycle] = None) -> RecordedCycle:
        """Read cycle ``k`` from the folder ``source``; ``prev`` is cycle
        ``k - 1`` where it was read (formats that record only the
        cumulative set derive the picks from it)."""
        raise NotImplementedError

    def read_file(self, path: str) -> RecordedCycle:
        """A single file as the labeled set of cycle 0."""
        raise NotImplementedError

    def cycles(self, source: str) -> List[int]:
        """The cycles the folder ``source`` holds, ascending."""
        found, k = [], 0
        while osp.exists(self.cycle_file(source, k)) or k == 0:
            if osp.exists(self.cycle_file(source, k)):
                found.append(k)
            k += 1
        return found

    def read(self, source: str) -> SplitHistory:
        """Every cycle of ``source`` (a folder, or one file: cycle 0).

        Raises:
            SplitError: ``source`` does not exist, holds no cycle, or a file
                is not what the codebase writes.
        """
        if osp.isfile(source):
            return {0: self.read_file(source)}
        if not osp.isdir(source):
            raise SplitError(f'{self.name} split {source!r} does not exist')
        ks = self.cycles(source)
        if not ks:
            raise SplitError(
                f'{source!r} holds no {self.name} split: expected e.g. '
                f'{self.cycle_file(source, 0)!r} or '
                f'{self.cycle_file(source, 1)!r}')
        out: SplitHistory = {}
        for k in ks:
            out[k] = self.read_cycle(source, k, out.get(k - 1))
        return out

    def write(self, history: SplitHistory, pool: Pool,
              out_dir: str) -> List[str]:
        """Write ``history`` under ``out_dir`` as the codebase writes it;
        returns the files written. Nothing is written if a name is not a
        pool image."""
        raise NotImplementedError

    # helpers ------------------------------------------------------------
    @staticmethod
    def _labeled_orders(history: SplitHistory,
                        matcher: NameMatcher,
                        newest_first: bool = False) -> Dict[int, List[int]]:
        """Per cycle, the labeled ids in the order a codebase that appends
        each acquisition's picks (or, ``newest_first``, puts them in front)
        lists them: cycle 0 as recorded."""
        orders: Dict[int, List[int]] = {}
        prev: Optional[List[int]] = None
        for k in sorted(history):
            rec = history[k]
            labeled = matcher.ids(rec.labeled, rec.file or f'cycle {k}')
            if prev is None or rec.picks is None:
                order = labeled.tolist()
            else:
                picks = matcher.ids(rec.picks, rec.file or f'cycle {k}')
                order = (picks.tolist() +
                         prev) if newest_first else (prev + picks.tolist())
                if set(order) != set(labeled.tolist()):
                    raise SplitError(
                        f'{rec.file or f"cycle {k}"}: the labeled set is not '
                        "the previous cycle's plus the picks")
            orders[k] = order
            prev = order
        return orders


def write_files(files: Dict[str, object]) -> List[str]:
    """Write ``{path: text or bytes}`` atomically, after everything was
    serialised."""
    from mmal.utils.fileio import atomic_open
    for path, content in files.items():
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with atomic_open(path,
                         'wb' if isinstance(content, bytes) else 'w') as f:
            f.write(content)
    return list(files)


def build_split_format(cfg) -> BaseSplitFormat:
    """Build a registered split format from ``dict(type=..., **options)``
    (or its name), naming the field in errors."""
    if isinstance(cfg, str):
        cfg = dict(type=cfg)
    cfg = dict(cfg)
    cls = SPLIT_FORMATS.get(cfg.get('type'))
    if cls is None:
        raise SplitError(f'split format {cfg.get("type")!r} is not '
                         'registered; known: '
                         f'{sorted(SPLIT_FORMATS.module_dict)}')
    cfg.pop('type')
    try:
        return cls(**cfg)
    except TypeError as e:
        raise SplitError(f'split format {cls.name}: {e}') from None
