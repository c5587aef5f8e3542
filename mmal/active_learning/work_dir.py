"""The layout of an active-learning work dir: every file name in one place.

The loop, the acquisition runner, the oracles and the tools under
``tools/`` find files through :class:`WorkDir` and :class:`CycleDir`, so a
change of layout is a change of this file only::

    run.json                  config of the run (a changed config is refused)
    run.lock                  held by the loop running in the work dir
    config.py                 the config as text
    label_map.json            cycle each pool image was labeled in
    results.csv/json, al_curve.png
    tracking/                 the experiment's tracked run (tracking.py)
    cycle_<k>/
        selected.json         what was acquired for cycle k
        labeled.json          written last: the split is complete
        unlabeled.json
        train/                mmengine work dir of cycle k
        test/                 mmengine work dir of its evaluation
        checkpoint.json       training done: final checkpoint + sha256
        metrics.json          evaluation done
        acquisition/          summaries of the pool pass with cycle k's model
        to_annotate.json/txt  a manual oracle's request (to_annotate.json:
                              plain COCO; label_studio_tasks.json +
                              label_studio_config.xml or
                              cvat_coco_instances.json for those tools)
        annotated.json        the annotators' answer (the tool's export)
        accepted.json         the images taken from a partial campaign
        visualization/        tools/analysis/visualize_selection.py output
"""
import json
import os
import os.path as osp
import re
from typing import List, Optional, Sequence

from .pool import SplitError

#: What deleting one of the loop's own files redoes, for error messages.
RECOVERY = {
    'run.json': 'the run record is written anew from the config',
    'checkpoint.json': "the cycle's training is redone (resumed from its "
    'newest complete checkpoint)',
    'metrics.json': 'the cycle is evaluated again',
    'selected.json': "the acquisition is redone (delete the folder's "
    'labeled.json and unlabeled.json too if they exist)',
    'label_map.json': 'it is rebuilt, the images labeled so far recorded as '
    'labeled in the previous cycle',
    'meta.json': "the cycle's pool is scored again",
}


def read_record(path: str, keys: Sequence[str] = ()) -> dict:
    """Read one of the loop's own json files; a damaged one (they are
    written atomically, so edited or truncated by hand) is a
    :class:`SplitError` that names it and what deleting it redoes."""
    name = osp.basename(path)
    try:
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError(f'expected a json object, got '
                             f'{type(data).__name__}')
        missing = [k for k in keys if k not in data]
        if missing:
            raise ValueError(f'no {missing}')
    except (ValueError, UnicodeDecodeError) as e:
        hint = RECOVERY.get(name, 'its step is redone')
        raise SplitError(f'{path} is damaged ({e}); delete it and re-run: '
                         f'{hint}') from None
    return data


CYCLE_PATTERN = re.compile(r'cycle_(\d+)')


class CycleDir:
    """The files of one cycle folder, ``<work_dir>/cycle_<k>``.

    Args:
        path (str): The folder (need not exist yet).
    """

    LABELED = 'labeled.json'
    UNLABELED = 'unlabeled.json'
    SELECTED = 'selected.json'
    CHECKPOINT = 'checkpoint.json'
    METRICS = 'metrics.json'
    TRAIN = 'train'
    TEST = 'test'
    ACQUISITION = 'acquisition'
    TO_ANNOTATE = 'to_annotate.json'
    TO_ANNOTATE_LIST = 'to_annotate.txt'
    ANNOTATED = 'annotated.json'
    VISUALIZATION = 'visualization'

    def __init__(self, path):
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f'CycleDir({self.path!r})'

    def __str__(self) -> str:
        return self.path

    def __fspath__(self) -> str:
        return self.path

    def file(self, name: str) -> str:
        """``name`` inside the folder."""
        return osp.join(self.path, name)

    @property
    def index(self) -> Optional[int]:
        """``k`` of a folder named ``cycle_<k>``, else None."""
        m = CYCLE_PATTERN.fullmatch(osp.basename(osp.normpath(self.path)))
        return int(m[1]) if m else None

    @property
    def work_dir(self) -> 'WorkDir':
        """The work dir the folder is in."""
        return WorkDir(osp.dirname(osp.normpath(self.path)))

    labeled = property(lambda self: self.file(self.LABELED))
    unlabeled = property(lambda self: self.file(self.UNLABELED))
    selected = property(lambda self: self.file(self.SELECTED))
    checkpoint = property(lambda self: self.file(self.CHECKPOINT))
    metrics = property(lambda self: self.file(self.METRICS))
    train_dir = property(lambda self: self.file(self.TRAIN))
    test_dir = property(lambda self: self.file(self.TEST))
    acquisition_dir = property(lambda self: self.file(self.ACQUISITION))
    to_annotate = property(lambda self: self.file(self.TO_ANNOTATE))
    to_annotate_list = property(lambda self: self.file(self.TO_ANNOTATE_LIST))
    visualization_dir = property(lambda self: self.file(self.VISUALIZATION))

    @property
    def has_split(self) -> bool:
        """Whether the split is complete (``labeled.json`` is written
        last)."""
        return osp.exists(self.labeled)


class WorkDir:
    """The files of a run's work dir.

    Args:
        root (str): The work dir (need not exist yet).
    """

    RUN_RECORD = 'run.json'
    LOCK = 'run.lock'
    CONFIG = 'config.py'
    LABEL_MAP = 'label_map.json'
    RESULTS_JSON = 'results.json'
    RESULTS_CSV = 'results.csv'
    CURVE = 'al_curve.png'
    TRACKING = 'tracking'

    def __init__(self, root):
        self.root = osp.abspath(os.fspath(root))

    def __repr__(self) -> str:
        return f'WorkDir({self.root!r})'

    def __str__(self) -> str:
        return self.root

    def __fspath__(self) -> str:
        return self.root

    def file(self, name: str) -> str:
        """``name`` inside the work dir."""
        return osp.join(self.root, name)

    run_record = property(lambda self: self.file(self.RUN_RECORD))
    lock = property(lambda self: self.file(self.LOCK))
    config = property(lambda self: self.file(self.CONFIG))
    label_map = property(lambda self: self.file(self.LABEL_MAP))
    results_json = property(lambda self: self.file(self.RESULTS_JSON))
    results_csv = property(lambda self: self.file(self.RESULTS_CSV))
    curve = property(lambda self: self.file(self.CURVE))
    tracking = property(lambda self: self.file(self.TRACKING))

    def cycle(self, k: int) -> CycleDir:
        """The folder of cycle ``k``: ``<root>/cycle_<k>``."""
        return CycleDir(self.file(f'cycle_{k}'))

    def cycles(self) -> List[int]:
        """The indices of the cycle folders that exist, ascending."""
        if not osp.isdir(self.root):
            return []
        found = [CYCLE_PATTERN.fullmatch(n) for n in os.listdir(self.root)]
        return sorted(int(m[1]) for m in found if m)
