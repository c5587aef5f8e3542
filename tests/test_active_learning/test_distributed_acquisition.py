"""tools/acquire.py under torchrun with 2 CPU processes (gloo) selects
exactly what 1 process selects, scoring every pool image once."""
import os.path as osp
import shutil
import subprocess

import numpy as np

from mmal.active_learning.summary_store import SummaryStore
from mmal.testing.loopback import free_port
from .al_helpers import PY, REPO, env
from .conftest import read_json


def _acquire(config, ckpt, cdir, nproc):
    tool = osp.join(REPO, 'tools', 'acquire.py')
    args = [str(config), ckpt, '--cycle-dir', str(cdir)]
    if nproc == 1:
        cmd = [PY, tool, *args]
    else:
        cmd = [
            PY, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
            f'--master_port={free_port()}', tool, *args, '--launcher',
            'pytorch'
        ]
    proc = subprocess.run(
        cmd, env=env(), capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_two_process_selection_equals_one_process(al_run, tmp_path):
    config, work = al_run
    ckpt = read_json(work, 'cycle_0', 'checkpoint.json')['checkpoint']
    dirs = {}
    for nproc in (1, 2):
        cdir = tmp_path / f'run{nproc}' / 'cycle_0'
        cdir.mkdir(parents=True)
        for name in ('labeled.json', 'unlabeled.json'):
            shutil.copy(osp.join(work, 'cycle_0', name), cdir / name)
        _acquire(config, ckpt, cdir, nproc)
        dirs[nproc] = cdir
    one = read_json(dirs[1].parent, 'cycle_1', 'selected.json')
    two = read_json(dirs[2].parent, 'cycle_1', 'selected.json')
    assert one['image_ids'] == two['image_ids']
    np.testing.assert_allclose(one['scores'], two['scores'], atol=1e-5)
    # and both equal the loop's own acquisition with the same checkpoint
    assert one['image_ids'] == read_json(work, 'cycle_1',
                                         'selected.json')['image_ids']
    # each unlabeled image scored exactly once, spread over both ranks
    unlabeled = sorted(i['id']
                       for i in read_json(dirs[2], 'unlabeled.json')['images'])
    shards = dirs[2] / 'acquisition'
    assert sorted(SummaryStore(
        str(shards)).read()) == unlabeled  # raises on repeats
    assert {p.name.split('-')[0]
            for p in shards.glob('rank*-*')} == {'rank0', 'rank1'}
