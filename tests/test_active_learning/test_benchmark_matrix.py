"""A benchmark matrix end to end on the tiny toy loop: shared cycle 0,
resume after a stop mid-matrix, a box budget, the report."""
import os
import os.path as osp
import textwrap

import pytest

from mmal.active_learning.pool import SplitError
from mmal.benchmark import BenchmarkConfig, Matrix, cycle0_key, work
from mmal.benchmark.report import write_report
from mmal.benchmark.shared_cycle0 import cycle0_config
from mmal.utils.config import load_config
from .al_helpers import write_config
from .conftest import read_json

BOXES = 20


def _bench_file(root, strategies, **extra):
    text = f'''
    base = 'base.py'
    strategies = {strategies!r}
    seeds = [0]
    work_dir = {str(root / 'bench')!r}
    shared_dir = {str(root / 'cycle0')!r}
    '''
    path = root / 'bench.py'
    path.write_text(
        textwrap.dedent(text) + ''.join(f'{k} = {v!r}\n'
                                        for k, v in extra.items()))
    return str(path)


def _matrix(path):
    bench = BenchmarkConfig.fromfile(path)
    return Matrix(bench, load_config(bench.base))


@pytest.fixture(scope='module')
def bench_root(tmp_path_factory, al_data):
    root = tmp_path_factory.mktemp('bench')
    # 10 labeled images, then images until 20 more boxes, 2 cycles
    write_config(
        root / 'base.py',
        al_data,
        epochs=1,
        al=dict(budget=dict(_delete_=True, boxes=BOXES)))
    _bench_file(root, [dict(type='u-random'), dict(type='b-random')])
    return root


def test_stop_mid_matrix_then_resume(bench_root):
    path = str(bench_root / 'bench.py')
    matrix = _matrix(path)
    assert work(matrix, progress=False, max_items=2) == 2  # stopped here
    first = matrix.runs[0]
    assert [matrix.state(i) for i in matrix.items] == ['done', 'done', 'to do']
    stamp = os.stat(osp.join(first.work_dir, 'results.json')).st_mtime_ns
    matrix = _matrix(path)  # a new job
    assert work(matrix, progress=False) == 1  # only the run left
    assert os.stat(osp.join(first.work_dir,
                            'results.json')).st_mtime_ns == stamp
    assert all(i.done for i in matrix.items)
    assert work(_matrix(path), progress=False) == 0

    # cycle 0 is the shared one in every run
    shared = matrix.cycle0[0].work_dir
    ckpt = read_json(shared, 'cycle_0', 'checkpoint.json')['checkpoint']
    rows = []
    for run in matrix.runs:
        marker = read_json(run.work_dir, 'cycle_0', 'checkpoint.json')
        assert marker['checkpoint'] == ckpt
        assert marker['shared_from'] == shared
        assert not osp.isdir(osp.join(run.work_dir, 'cycle_0', 'train'))
        # timings of the acquisition with the cycle-0 model are the run's
        rows.append({
            k: v
            for k, v in run.rows()[0].items()
            if k not in ('inference_s', 'selection_s')
        })
    assert rows[0] == rows[1]

    # the box budget: images in the strategy's order until 20 boxes
    for run in matrix.runs:
        sel = read_json(run.work_dir, 'cycle_1', 'selected.json')
        cut = sel['box_budget']
        r0, r1 = run.rows()
        assert cut['boxes'] == BOXES and cut['revealed'] >= BOXES
        assert r1['labeled_images'] - r0['labeled_images'] == cut['taken'] \
            == len(sel['image_ids']) == sel['budget']
        assert r1['labeled_boxes'] - r0['labeled_boxes'] == cut['revealed']

    out = write_report(matrix)
    with open(osp.join(out, 'report.md')) as f:
        report = f.read()
    assert 'Cycle-0 rows identical across strategies: seed 0: yes' in report
    with open(osp.join(out, 'aubc.csv')) as f:
        header, *lines = f.read().splitlines()
    assert header.startswith('strategy,seed_0,mean,std')
    assert [x.split(',')[0] for x in lines] == ['u-random', 'b-random']
    assert osp.getsize(osp.join(out, 'curves.png')) > 1000


def test_cycle0_key_ignores_what_cycle0_does_not_use(bench_root):
    base = load_config(str(bench_root / 'base.py'))
    key = cycle0_key(cycle0_config(base, 0, True))
    other = load_config(str(bench_root / 'base.py'))
    other.al.budget, other.al.num_cycles = 50, 7
    other.al.strategy = dict(type='entropy')
    assert cycle0_key(cycle0_config(other, 0, True)) == key
    assert cycle0_key(cycle0_config(base, 1, True)) != key
    other.train_cfg.max_epochs = 3
    assert cycle0_key(cycle0_config(other, 0, True)) != key


@pytest.mark.parametrize('strategies, extra, match', [
    ([dict(type='no-such')], {}, 'not a registered strategy'),
    ([dict(type='u-random'), dict(type='u-random')], {}, 'used twice'),
    ([dict(type='u-random')], dict(seeds=[0, 0]), 'distinct ints'),
    ([dict(type='u-random')], dict(reference='entropy'), 'not one of'),
    ([dict(type='u-random')], dict(cost=dict(c_img=-1)), 'numbers >= 0'),
    ([dict(type='u-random')], dict(strategy=1), 'unknown keys'),
])
def test_bad_benchmark_config(tmp_path, strategies, extra, match):
    (tmp_path / 'base.py').write_text('')
    path = _bench_file(tmp_path, strategies, **extra)
    with pytest.raises(SplitError, match=match):
        BenchmarkConfig.fromfile(path)
    assert not osp.exists(tmp_path / 'bench')
