"""Tests for ``tools/analysis/plot_al_curves.py`` on synthetic runs."""
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'analysis', 'plot_al_curves.py')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

# Planted bbox_AP per strategy -> seed -> {labeled_images: value}. Chosen
# so that the formatted cells are known exactly (sample std, ddof=1).
PLANTED = {
    'u-random': {
        0: {
            50: 0.4,
            100: 0.6,
            150: 0.7
        },
        1: {
            50: 0.5,
            100: 0.7,
            150: 0.8
        },
        2: {
            50: 0.6,
            100: 0.8,
            150: 0.9
        },
    },
    'entropy': {
        0: {
            50: 0.2,
            100: 0.5,
            200: 0.8
        },
        1: {
            50: 0.3,
            100: 0.5,
            200: 1.0
        },
        2: {
            50: 0.4,
            100: 0.5,
            200: None
        },  # a null cell
    },
}


def _load_module():
    spec = importlib.util.spec_from_file_location('plot_al_curves', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pac = _load_module()


def write_run(work_dir, strategy, seed, values, name=None, metric='bbox_AP'):
    """Write a ``results.json`` shaped like the loop's into ``work_dir``."""
    os.makedirs(work_dir, exist_ok=True)
    cycles = []
    for i, (x, v) in enumerate(sorted(values.items())):
        row = dict(
            cycle=i,
            labeled_images=x,
            labeled_boxes=3 * x,
            bbox_AP=None,
            bbox_AP50=None if v is None else min(1.0, v + 0.2),
            bbox_AP75=None,
            train_s=1.0,
            test_s=0.5,
            inference_s=None,
            selection_s=None)
        row[metric] = v
        cycles.append(row)
    run = dict(
        name=name or f'faster-rcnn_r18_fpn_{strategy}_toy',
        strategy=dict(type=strategy),
        seed=seed,
        pool='data/toy/annotations/instances_train.json',
        pool_size=200,
        cycles=cycles)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(run, f)
    return str(work_dir)


@pytest.fixture
def run_dirs(tmp_path):
    """2 strategies x 3 seeds; the run names of entropy seed 2 differ."""
    dirs = []
    for strategy, seeds in PLANTED.items():
        for seed, values in seeds.items():
            name = None
            if strategy == 'entropy' and seed == 2:
                name = 'faster-rcnn_r18_fpn_entropy-v2_toy'
            dirs.append(
                write_run(tmp_path / f'{strategy}_s{seed}', strategy, seed,
                          values, name))
    return dirs


def planted_at(strategy, x):
    return [v[x] for v in PLANTED[strategy].values() if v.get(x) is not None]


def test_aggregate_matches_numpy(run_dirs):
    runs = pac.load_runs(run_dirs)
    groups = pac.aggregate(runs, 'bbox_AP', 'strategy')
    assert [g['label'] for g in groups] == ['u-random', 'entropy']
    by_label = {g['label']: g for g in groups}
    for strategy in PLANTED:
        g = by_label[strategy]
        xs = sorted({x for v in PLANTED[strategy].values() for x in v})
        assert g['x'].tolist() == xs
        for i, x in enumerate(xs):
            vals = planted_at(strategy, x)
            assert g['n'][i] == len(vals)
            assert g['mean'][i] == pytest.approx(np.mean(vals))
            assert g['std'][i] == pytest.approx(np.std(vals, ddof=1))
        run_means = [
            np.mean([v for v in values.values() if v is not None])
            for values in PLANTED[strategy].values()
        ]
        assert g['run_means'] == pytest.approx(run_means)
        assert len(g['paths']) == 3


def test_std_is_nan_for_a_single_run(tmp_path):
    path = write_run(tmp_path / 'a', 'u-random', 0, {50: 0.3, 100: 0.4})
    (g, ) = pac.aggregate(pac.load_runs([path]), 'bbox_AP')
    assert g['n'].tolist() == [1, 1]
    assert np.isnan(g['std']).all()
    assert g['mean'].tolist() == pytest.approx([0.3, 0.4])


def test_format_cell():
    assert pac.format_cell([0.4, 0.5, 0.6]) == '0.500 ± 0.100 (n=3)'
    assert pac.format_cell([0.25]) == '0.250 (n=1)'
    assert pac.format_cell([]) == '-'


def test_markdown_table_cells_and_union_of_x(run_dirs):
    groups = pac.aggregate(pac.load_runs(run_dirs), 'bbox_AP', 'strategy')
    table = pac.markdown_table(groups, 'strategy')
    lines = table.splitlines()
    assert lines[0] == ('| strategy | 50 | 100 | 150 | 200 '
                        '| mean over cycles |')
    assert lines[1].startswith('| --- |')
    assert len(lines) == 4
    # Run means: u-random 0.567, 0.667, 0.767; entropy 0.5, 0.6, 0.45.
    assert lines[2] == ('| u-random | 0.500 ± 0.100 (n=3) '
                        '| 0.700 ± 0.100 (n=3) | 0.800 ± 0.100 (n=3) | - '
                        '| 0.667 ± 0.100 (n=3) |')
    entropy_mean = pac.format_cell([0.5, 0.6, 0.45])
    assert entropy_mean == '0.517 ± 0.076 (n=3)'
    assert lines[3] == ('| entropy | 0.300 ± 0.100 (n=3) '
                        '| 0.500 ± 0.000 (n=3) | - | 0.900 ± 0.141 (n=2) '
                        f'| {entropy_mean} |')


def test_group_by_name(run_dirs):
    groups = pac.aggregate(pac.load_runs(run_dirs), 'bbox_AP', 'name')
    assert [g['label'] for g in groups] == [
        'faster-rcnn_r18_fpn_u-random_toy',
        'faster-rcnn_r18_fpn_entropy_toy',
        'faster-rcnn_r18_fpn_entropy-v2_toy',
    ]
    assert [len(g['paths']) for g in groups] == [3, 2, 1]
    table = pac.markdown_table(groups, 'name')
    assert table.splitlines()[0].startswith('| name | 50 |')
    assert ('| faster-rcnn_r18_fpn_entropy-v2_toy | 0.400 (n=1) '
            '| 0.500 (n=1) | - | - | 0.450 (n=1) |') in table
    assert ('| faster-rcnn_r18_fpn_entropy_toy | 0.250 ± 0.071 (n=2) '
            '| 0.500 ± 0.000 (n=2) | - | 0.900 ± 0.141 (n=2) |') in table


def test_main_writes_png_and_markdown(run_dirs, tmp_path, capsys):
    out_dir = tmp_path / 'out'
    # A run dir and a results.json file are both accepted.
    paths = run_dirs[:-1] + [osp.join(run_dirs[-1], 'results.json')]
    assert pac.main(paths + ['--out-dir', str(out_dir), '--title', 'T']) == 0
    png = out_dir / 'al_curves.png'
    md = out_dir / 'al_curves.md'
    with open(png, 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    assert png.stat().st_size > 1000
    stdout = capsys.readouterr().out
    assert '| u-random | 0.500 ± 0.100 (n=3) |' in stdout
    text = md.read_text(encoding='utf-8')
    assert text.startswith('# T\n')
    assert stdout.strip() in text
    assert 'bbox_AP' in text
    # Atomic writes leave no temporary files behind.
    assert sorted(os.listdir(out_dir)) == ['al_curves.md', 'al_curves.png']


def test_main_labels_and_metric(run_dirs, tmp_path, capsys):
    out_dir = str(tmp_path / 'out')
    pac.main(run_dirs + [
        '--out-dir', out_dir, '--metric', 'bbox_AP50', '--labels', 'Random',
        'Entropy'
    ])
    stdout = capsys.readouterr().out
    # bbox_AP50 was planted as bbox_AP + 0.2 (capped at 1).
    assert '| Random | 0.700 ± 0.100 (n=3) |' in stdout
    assert '| Entropy | 0.500 ± 0.100 (n=3) |' in stdout
    with pytest.raises(pac.ResultsError, match='2 groups'):
        pac.main(run_dirs + ['--out-dir', out_dir, '--labels', 'only-one'])


def test_default_metric_falls_back_to_voc(tmp_path, capsys):
    dirs = []
    for seed in range(2):
        values = {100: 0.5 + 0.1 * seed, 200: 0.6}
        dirs.append(
            write_run(
                tmp_path / f'voc{seed}',
                'u-random',
                seed,
                values,
                metric='voc_mAP'))
    runs = pac.load_runs(dirs)
    assert pac.default_metric(runs) == 'voc_mAP'
    pac.main(dirs + ['--out-dir', str(tmp_path / 'out')])
    stdout = capsys.readouterr().out
    assert '| u-random | 0.550 ± 0.071 (n=2) | 0.600 ± 0.000 (n=2) |' \
        in stdout
    coco = write_run(tmp_path / 'coco', 'u-random', 0, {100: 0.3})
    assert pac.default_metric(pac.load_runs([coco] + dirs)) == 'bbox_AP'


def test_missing_metric_names_the_file(run_dirs, tmp_path):
    voc = write_run(
        tmp_path / 'voc_run', 'u-random', 0, {50: 0.5}, metric='voc_mAP')
    runs = pac.load_runs(run_dirs + [voc])
    file = osp.join(voc, 'results.json')
    with pytest.raises(pac.ResultsError, match=re.escape(file) + '.*bbox_AP'):
        pac.aggregate(runs, 'bbox_AP', 'strategy')
    with pytest.raises(
            pac.ResultsError, match=re.escape(file) + '.*no_such_metric'):
        pac.main([
            voc, '--metric', 'no_such_metric', '--out-dir',
            str(tmp_path / 'out')
        ])
    assert not osp.exists(tmp_path / 'out')


def test_missing_results_json_names_the_path(run_dirs, tmp_path):
    empty = tmp_path / 'not_a_run'
    empty.mkdir()
    with pytest.raises(
            pac.ResultsError,
            match=re.escape(str(empty)) + r'.*results\.json'):
        pac.load_runs(run_dirs + [str(empty)])
    missing = str(tmp_path / 'nowhere' / 'results.json')
    with pytest.raises(pac.ResultsError, match=re.escape(missing)):
        pac.load_runs([missing])


def test_malformed_json_names_the_file(tmp_path):
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'results.json').write_text('{"cycles": [')
    with pytest.raises(
            pac.ResultsError, match=re.escape(str(bad)) + '.*malformed'):
        pac.load_runs([str(bad)])
    (bad / 'results.json').write_text('{"cycles": [{"bbox_AP": 0.1}]}')
    with pytest.raises(pac.ResultsError, match='labeled_images'):
        pac.load_runs([str(bad)])


def test_duplicate_path_is_an_error(run_dirs):
    with pytest.raises(pac.ResultsError, match='more than once'):
        pac.load_runs([run_dirs[0], osp.join(run_dirs[0], 'results.json')])


def test_cli_reports_errors_without_traceback(tmp_path):
    missing = str(tmp_path / 'nope')
    proc = subprocess.run([sys.executable, SCRIPT, missing],
                          capture_output=True,
                          text=True,
                          cwd=str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.startswith('error: ')
    assert missing in proc.stderr
    assert 'Traceback' not in proc.stderr
