"""The report on planted results: AUBC, paired differences, the cycle-0
check, the paper layouts, the time table."""
import csv
import os.path as osp

import pytest
from mmengine.config import Config

from mmal.active_learning.work_dir import WorkDir
from mmal.benchmark import BenchmarkConfig, Matrix
from mmal.benchmark.report import BenchmarkResults, write_report
from mmal.utils.fileio import atomic_write_json

# AP per cycle at 50 / 100 / 150 images, per strategy and seed
AP = {
    ('u-random', 0): [0.2, 0.4, 0.5],
    ('u-random', 1): [0.1, 0.3, 0.5],
    ('enms-divproto', 0): [0.2, 0.5, 0.6],
    ('enms-divproto', 1): [0.1, 0.3, 0.7],
}


def _matrix(tmp_path, cycle0_ap=None):
    bench = BenchmarkConfig(
        path=str(tmp_path / 'bench.py'),
        base=str(tmp_path / 'base.py'),
        strategies={
            'u-random': dict(type='u-random'),
            'enms-divproto': dict(type='enms-divproto')
        },
        seeds=[0, 1],
        reference='u-random',
        work_dir=str(tmp_path / 'work'),
        shared_dir=str(tmp_path / 'cycle0'))
    base = Config(
        dict(al=dict(strategy=dict(type='u-random'), budget=50, num_cycles=3)))
    matrix = Matrix(bench, base)
    for item in matrix.runs:
        ap = list(AP[item.strategy, item.seed])
        if cycle0_ap is not None and item.strategy == 'enms-divproto':
            ap[0] = cycle0_ap
        rows = [
            dict(
                cycle=k,
                labeled_images=50 * (k + 1),
                labeled_boxes=100 * (k + 1) + 10 * k *
                (item.strategy != 'u-random'),
                bbox_AP=a,
                bbox_AP50=a + 0.3,
                train_s=1.0 + k,
                inference_s=0.2 + k + 0.4 * item.seed)
            for k, a in enumerate(ap)
        ]
        atomic_write_json(
            dict(cycles=rows, pool_size=200),
            WorkDir(item.work_dir).results_json)
    return matrix


def _read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_report_planted(tmp_path):
    out = write_report(_matrix(tmp_path))
    aubc = {r['strategy']: r for r in _read(osp.join(out, 'aubc.csv'))}
    # (50 * (0.2 + 0.4) / 2 + 50 * (0.4 + 0.5) / 2) / 100 = 0.375
    assert float(aubc['u-random']['seed_0']) == pytest.approx(0.375)
    assert float(aubc['u-random']['seed_1']) == pytest.approx(0.3)
    assert float(aubc['enms-divproto']['seed_0']) == pytest.approx(0.45)
    assert float(aubc['enms-divproto']['seed_1']) == pytest.approx(0.35)
    e = aubc['enms-divproto']
    assert float(e['diff_mean']) == pytest.approx(0.0625)
    assert (e['diff_wins'], e['diff_ties'], e['diff_losses']) == ('2', '0',
                                                                  '0')
    paired = _read(osp.join(out, 'paired.csv'))
    assert [float(r['diff_mean'])
            for r in paired] == pytest.approx([0.0, 0.05, 0.15])
    assert paired[0]['diff_ties'] == '2'
    summary = _read(osp.join(out, 'summary.csv'))
    assert float(summary[2]['bbox_AP_mean']) == pytest.approx(0.5)
    assert float(summary[2]['bbox_AP_std']) == pytest.approx(0.0)
    with open(osp.join(out, 'report.md')) as f:
        md = f.read()
    assert 'seed 0: yes, seed 1: yes' in md
    # BiB layout: strategies x labeled images, % with one decimal
    assert '| Method | 50 | 100 | 150 |' in md
    assert '| enms-divproto | 15.0 ± 7.1 | 40.0 ± 14.1 | 65.0 ± 7.1 |' in md
    # ENMS Table 1 layout: components ticked, share of the pool
    assert '| Method | Entropy | ENMS | DivProto | 25% | 50% | 75% |' in md
    assert '| Ours | ✓ | ✓ | ✓ | 15.00 ± 7.07 |' in md
    # times: mean over seeds; no evaluation time recorded; no acquisition
    # after the last cycle
    assert ('| enms-divproto | 1.0 / - / 0.4 / - | 2.0 / - / 1.4 / - | '
            '3.0 / - / - / - |') in md
    with open(osp.join(out, 'table.txt')) as f:
        table = f.read().splitlines()
    assert table[0].split() == [
        'cycle', 'images', 'u-random', 'boxes', 'u-random', 'bbox_AP',
        'enms-divproto', 'boxes', 'enms-divproto', 'bbox_AP', 'Δ',
        'enms-divproto'
    ]
    assert table[-1].split() == [
        '2', '150', '300', '0.500', '320', '0.650', '+0.150'
    ]


def test_report_flags_differing_cycle0_and_partial(tmp_path):
    matrix = _matrix(tmp_path, cycle0_ap=0.9)
    assert BenchmarkResults(matrix).cycle0_identical() == {0: False, 1: False}
    # a run not finished: its seed is left out of the paired seeds
    last = matrix.runs[-1]
    rows = last.rows()
    path = WorkDir(last.work_dir).results_json
    atomic_write_json(dict(cycles=rows[:2]), path)
    res = BenchmarkResults(matrix)
    assert res.seeds == [0] and res.missing == ['enms-divproto_seed1']
    # an interim report: every run cut to the cycles all have evaluated
    res = BenchmarkResults(matrix, partial=True)
    assert res.seeds == [0, 1] and res.num_cycles == 2
    assert res.aubc('u-random', 0) == pytest.approx(0.3)
