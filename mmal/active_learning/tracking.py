"""Per-cycle numbers of an active-learning experiment in the user's
experiment trackers.

The trackers are the mmengine visualizer backends of the config
(``visualizer.vis_backends``: ``LocalVisBackend``, ``TensorboardVisBackend``,
``WandbVisBackend``, ``MLflowVisBackend``, ...). The whole experiment is one
tracked run, written under ``<work_dir>/tracking/``, with the step = the
number of labeled images; each cycle adds its row once it is complete (its
evaluation and, but for the last cycle, its acquisition): headline AP, the
per-class AP, labeled images and boxes, the seconds of each step and the
selection's statistics. Which cycles were sent is recorded in
``tracking/sent.json``, so a resumed run sends the others only.

The cycles' own trainings log to their ``cycle_<k>/train`` folders through
``LocalVisBackend`` only, unless ``al.tracking.training_runs=True`` gives
them the configured backends too (then each cycle's training is a tracked
run of its own, named ``<experiment>_cycle<k>``).
"""
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmdet.registry import VISBACKENDS

from mmal.utils.fileio import atomic_write_json
from .pool import SplitError
from .work_dir import WorkDir, read_record

#: The row's columns sent as they are (``al/<name>``); ``AP_<class>`` goes
#: to ``al_per_class/<class>``.
ROW_SCALARS = ('labeled_images', 'labeled_boxes', 'bbox_AP', 'bbox_AP50',
               'bbox_AP75', 'voc_mAP', 'train_s', 'test_s', 'inference_s',
               'selection_s')


def check_backends(cfg, where: str) -> List[dict]:
    """The config's ``visualizer.vis_backends``, each a registered backend;
    a :class:`SplitError` naming the entry otherwise."""
    vis = cfg.get('visualizer') or {}
    backends = vis.get('vis_backends') or []
    if isinstance(backends, dict):
        backends = [backends]
    out = []
    for i, b in enumerate(backends):
        if not isinstance(b, dict) or 'type' not in b:
            raise SplitError(f'{where}: visualizer.vis_backends[{i}] must be '
                             f'a dict with a type, got {b!r}')
        if not isinstance(b['type'], str) or \
                VISBACKENDS.get(b['type']) is None:
            raise SplitError(
                f'{where}: visualizer.vis_backends[{i}].type {b["type"]!r} '
                'is not a registered mmengine visualizer backend (e.g. '
                'LocalVisBackend, TensorboardVisBackend, WandbVisBackend, '
                'MLflowVisBackend)')
        out.append(dict(b))
    return out


def selection_scalars(record: dict) -> Dict[str, float]:
    """Statistics of one ``selected.json``: how many images were picked,
    and the acquisition scores' mean / min / max when the strategy gave
    scores."""
    out = {'selection/images': float(len(record.get('image_ids') or []))}
    scores = record.get('scores')
    if scores:
        s = np.asarray(scores, np.float64)
        s = s[np.isfinite(s)]
        if s.size:
            out.update({
                'selection/score_mean': float(s.mean()),
                'selection/score_min': float(s.min()),
                'selection/score_max': float(s.max())
            })
    return out


def row_scalars(row: dict) -> Dict[str, float]:
    """The numbers of one results row (see ``reporting.make_row``)."""
    out = {}
    for key in ROW_SCALARS:
        if row.get(key) is not None:
            out[f'al/{key}'] = float(row[key])
    for key, v in row.items():
        if key.startswith('AP_') and v is not None and v >= 0:
            out[f'al_per_class/{key[3:]}'] = float(v)
    return out


class ExperimentTracker:
    """Send the cycles of one experiment to the configured backends.

    Args:
        backends (list[dict]): ``visualizer.vis_backends`` entries (see
            :func:`check_backends`).
        work_dir (str): The experiment's work dir.
        name (str): The experiment's name.
        config (Config, optional): Sent once, with the first cycle.
    """

    SENT = 'sent.json'

    def __init__(self,
                 backends: List[dict],
                 work_dir: str,
                 name: str,
                 config=None):
        self.specs = backends
        self.files = WorkDir(work_dir)
        self.save_dir = self.files.tracking
        self.sent_file = osp.join(self.save_dir, self.SENT)
        self.name = name
        self.config = config
        self._backends: Optional[list] = None

    def _open(self) -> list:
        if self._backends is None:
            os.makedirs(self.save_dir, exist_ok=True)
            self._backends = [
                VISBACKENDS.build(dict(spec, save_dir=self.save_dir))
                for spec in self.specs
            ]
        return self._backends

    def _sent(self) -> List[int]:
        if not osp.exists(self.sent_file):
            return []
        return list(read_record(self.sent_file, ('cycles', ))['cycles'])

    def send(self, rows: List[dict], complete: List[bool]) -> List[int]:
        """Send every complete row not sent before; returns their cycles.

        Args:
            rows (list[dict]): The results rows, one per evaluated cycle.
            complete (list[bool]): Per row, whether its cycle is over
                (evaluated and, unless it is the last, acquired).
        """
        if not self.specs:
            return []
        sent = self._sent()
        new = [
            r for r, done in zip(rows, complete)
            if done and r['cycle'] not in sent
        ]
        if not new:
            return []
        backends = self._open()
        if not sent and self.config is not None:
            for b in backends:
                b.add_config(self.config)
        for r in new:
            scalars = row_scalars(r)
            scalars['al/cycle'] = float(r['cycle'])
            nsel = self.files.cycle(r['cycle'] + 1).selected
            if osp.exists(nsel):
                scalars.update(selection_scalars(read_record(nsel)))
            for b in backends:
                b.add_scalars(scalars, step=int(r['labeled_images']))
            sent.append(int(r['cycle']))
            # after each row: a kill sends at most the row in hand twice
            atomic_write_json(
                dict(experiment=self.name, cycles=sent), self.sent_file)
        return [int(r['cycle']) for r in new]

    def close(self) -> None:
        """Flush and close the backends (a tracked run ends)."""
        for b in self._backends or []:
            b.close()
        self._backends = None
