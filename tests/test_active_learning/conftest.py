import json
import os.path as osp

import pytest

from mmal.testing import make_toy_benchmark
from .al_helpers import al_train, write_config


@pytest.fixture(scope='session')
def al_data(tmp_path_factory):
    """Data root of the loop tests: the toy data ``write_config`` asks for
    (40 pool images, 8 val images, 6 classes)."""
    root = str(tmp_path_factory.mktemp('al_toy'))
    make_toy_benchmark(root, num_train=40, num_val=8, num_classes=6, seed=0)
    return root


@pytest.fixture(scope='session')
def al_run(tmp_path_factory, al_data):
    """An uninterrupted 2-cycle least-confidence loop: 10 labeled images,
    +10, 2 epochs per cycle, tracked in TensorBoard too. Returns (config,
    work_dir)."""
    root = tmp_path_factory.mktemp('al_run')
    config = write_config(
        root / 'cfg.py',
        al_data,
        extra='visualizer = dict(vis_backends=[dict(type="LocalVisBackend"),'
        ' dict(type="TensorboardVisBackend")])\n')
    work_dir = root / 'work'
    al_train(config, work_dir)
    return config, str(work_dir)


def read_json(*parts):
    with open(osp.join(*parts)) as f:
        return json.load(f)
