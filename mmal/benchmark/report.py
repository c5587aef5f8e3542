"""The report of a benchmark: Markdown, CSV and PNG under
``<work_dir>/reports/<benchmark config name>/`` (benchmarks that share a
work dir share their runs, each has its own report).

- ``report.md``: the metric per strategy and cycle (mean ± std over seeds,
  laid out as the BiB paper's VOC07 table: strategies x labeled images);
  the same as the ENMS + DivProto paper's Table 1 (entropy / ENMS /
  DivProto columns ticked, annotated percentage of the pool); labeled boxes
  and annotation cost per cycle; the normalised AUBC per seed with its
  mean ± std and the paired difference against the reference strategy
  (95 % paired-t and bootstrap intervals, wins / ties / losses); the loop's
  wall times per cycle (training, evaluation, pool scoring, selection); the
  paired difference per cycle; whether each seed's cycle-0 rows are
  identical across strategies (they share one cycle-0 model).
- ``runs.csv`` (one row per strategy, seed and cycle), ``summary.csv``,
  ``aubc.csv``, ``paired.csv``.
- ``curves.png``: the metric against labeled images, labeled boxes and
  annotation cost (``cost.c_img x images + cost.c_box x boxes`` seconds,
  shown in hours), mean ± std bands over seeds.
"""
import csv
import io
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmal.utils.fileio import atomic_open, atomic_write_text
from .matrix import Matrix
from .statistics import aubc, mean_std, paired_difference

#: How the ENMS + DivProto paper's Table 1 names its components, for the
#: strategies it ablates: (entropy, ENMS, DivProto).
ENMS_COMPONENTS = {
    'entropy': (1, 0, 0),
    'enms': (1, 1, 0),
    'divproto': (1, 0, 1),
    'enms-divproto': (1, 1, 1),
}
#: Paired differences within this much of 0 count as ties.
TIE = 1e-3


def _metric(runs: Dict, wanted: Optional[str]) -> str:
    if wanted:
        return wanted
    rows = [r for cycles in runs.values() for r in cycles]
    if rows and all(r.get('voc_mAP') is not None for r in rows):
        return 'voc_mAP'
    return 'bbox_AP'


class BenchmarkResults:
    """The finished runs of a matrix, by strategy and seed.

    Args:
        matrix (Matrix): The benchmark.
        partial (bool): Also unfinished runs, all cut to the cycles every
            one of them has evaluated (an interim report). Defaults to
            False: finished runs only.
    """

    def __init__(self, matrix: Matrix, partial: bool = False):
        self.matrix = matrix
        self.bench = matrix.bench
        self.partial = partial
        self.runs = {
            (i.strategy, i.seed): i.rows()
            for i in matrix.runs if i.done or partial and len(i.rows()) > 1
        }
        if partial and self.runs:  # the cycles every run so far has
            n = min(len(r) for r in self.runs.values())
            self.runs = {k: r[:n] for k, r in self.runs.items()}
        self.metric = _metric(self.runs, self.bench.metric)
        self.strategies = [
            s for s in self.bench.strategies
            if any((s, seed) in self.runs for seed in self.bench.seeds)
        ]
        self.ref = self.bench.reference
        # seeds every reported strategy has finished: the paired design
        self.seeds = [
            s for s in self.bench.seeds
            if all((n, s) in self.runs for n in self.strategies)
        ]
        self.missing = [i.name for i in matrix.runs if not i.done]
        self.pool_size = self._pool_size()

    def _pool_size(self) -> Optional[int]:
        for item in self.matrix.runs:
            path = osp.join(item.work_dir, 'results.json')
            if item.done and osp.exists(path):
                with open(path) as f:
                    return json.load(f).get('pool_size')
        return None

    # -- values ----------------------------------------------------------
    def cost(self, row: dict) -> float:
        """Annotation seconds of a row's labeled set."""
        c = self.bench.cost
        return c['c_img'] * row['labeled_images'] + \
            c['c_box'] * row['labeled_boxes']

    def series(self, strategy: str, seed: int, key: str) -> np.ndarray:
        rows = self.runs[strategy, seed]
        if key == 'cost':
            return np.array([self.cost(r) for r in rows], np.float64)
        return np.array(
            [np.nan if r.get(key) is None else r[key] for r in rows],
            np.float64)

    def per_seed(self, strategy: str, key: str) -> np.ndarray:
        """(seeds, cycles) values over the paired seeds."""
        return np.stack([self.series(strategy, s, key) for s in self.seeds])

    def aubc(self, strategy: str, seed: int, x: str = 'labeled_images'):
        return aubc(
            self.series(strategy, seed, x),
            self.series(strategy, seed, self.metric))

    @property
    def num_cycles(self) -> int:
        return min(len(r) for r in self.runs.values())

    def cycle0_identical(self) -> Dict[int, bool]:
        """Per seed: whether every strategy's cycle-0 row is the same."""
        out = {}
        for seed in self.seeds:
            first = [
                {
                    k: v
                    for k, v in self.runs[n, seed][0].items()
                    # the acquisition made with the cycle-0 model is the run's
                    if k not in ('inference_s', 'selection_s')
                } for n in self.strategies
            ]
            out[seed] = all(f == first[0] for f in first)
        return out


# -- formatting --------------------------------------------------------------
def _pm(values: Sequence[float], scale: float = 100.0, digits: int = 1) -> str:
    v = np.asarray(values, np.float64) * scale
    if v.size == 1:
        return f'{v[0]:.{digits}f}'
    m, s = mean_std(v)
    return f'{m:.{digits}f} ± {s:.{digits}f}'


def _interval(lo: float, hi: float, scale: float = 100.0) -> str:
    if np.isnan(lo):
        return '-'
    return f'[{lo * scale:+.2f}, {hi * scale:+.2f}]'


def _md(header: List[str], rows: List[List[str]]) -> str:
    out = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    out += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(out)


def _images(res: BenchmarkResults) -> List[int]:
    s = res.strategies[0]
    return [int(x) for x in res.series(s, res.seeds[0], 'labeled_images')]


def bib_table(res: BenchmarkResults) -> str:
    """Strategies x labeled images, metric (%) mean ± std (BiB, Table 4)."""
    imgs = _images(res)
    rows = [[s] + [_pm(c) for c in res.per_seed(s, res.metric).T]
            for s in res.strategies]
    return _md(['Method'] + [str(i) for i in imgs], rows)


def enms_table(res: BenchmarkResults) -> str:
    """The ENMS + DivProto paper's Table 1 layout: components ticked,
    annotated percentage of the pool, metric (%) mean ± std, 2 digits."""
    imgs = _images(res)
    pct = [
        f'{100 * i / res.pool_size:.0f}%' if res.pool_size else str(i)
        for i in imgs
    ]
    rows = []
    for s in res.strategies:
        ticks = ENMS_COMPONENTS.get(s)
        name = 'Random' if s == 'u-random' else ('Ours' if ticks else s)
        marks = ['✓' if t else '' for t in ticks] if ticks else ['', '', '']
        rows.append([name] + marks +
                    [_pm(c, digits=2) for c in res.per_seed(s, res.metric).T])
    return _md(['Method', 'Entropy', 'ENMS', 'DivProto'] + pct, rows)


def counts_table(res: BenchmarkResults) -> str:
    """Labeled boxes and annotation cost (h) per strategy and cycle."""
    imgs = _images(res)
    rows = []
    for s in res.strategies:
        boxes = res.per_seed(s, 'labeled_boxes').T
        cost = res.per_seed(s, 'cost').T / 3600
        rows.append(
            [s] +
            [f'{_pm(b, 1, 0)} / {_pm(c, 1, 2)}' for b, c in zip(boxes, cost)])
    return _md(['strategy'] + [f'{i} images: boxes / cost (h)' for i in imgs],
               rows)


#: The loop's timings of a cycle, in the time table's order.
TIMES = ('train_s', 'test_s', 'inference_s', 'selection_s')


def time_table(res: BenchmarkResults) -> str:
    """Wall seconds per strategy and cycle, mean over seeds: training,
    evaluation, then the acquisition made with that cycle's model (pool
    scoring, selection; none after the last cycle)."""
    imgs = _images(res)
    rows = []
    for s in res.strategies:
        cells = []
        for k in range(len(imgs)):
            vals = []
            for key in TIMES:
                col = res.per_seed(s, key)[:, k]
                col = col[~np.isnan(col)]
                last = k == len(imgs) - 1 and key in TIMES[2:]
                vals.append(
                    '-' if last or not col.size else
                    f'{col.mean():.{2 if key == "selection_s" else 1}f}')
            cells.append(' / '.join(vals))
        rows.append([s] + cells)
    return _md(['strategy'] + [
        f'{i} images: train / test / pool scoring / selection s' for i in imgs
    ], rows)


def aubc_rows(res: BenchmarkResults) -> List[dict]:
    out = []
    for s in res.strategies:
        vals = [res.aubc(s, seed) for seed in res.seeds]
        row = dict(
            strategy=s, **{
                f'seed_{k}': v
                for k, v in zip(res.seeds, vals)
            })
        row['mean'], row['std'] = mean_std(vals)
        if res.ref and s != res.ref:
            ref = [res.aubc(res.ref, seed) for seed in res.seeds]
            row['paired'] = paired_difference(vals, ref, tie=TIE)
        out.append(row)
    return out


def aubc_table(res: BenchmarkResults) -> str:
    """Normalised AUBC (metric vs labeled images, %) per seed, mean ± std,
    and the paired difference against the reference."""
    rows = []
    for r in aubc_rows(res):
        p = r.get('paired')
        cells = [r['strategy']] + [
            f'{100 * r[f"seed_{k}"]:.2f}' for k in res.seeds
        ] + [f'{100 * r["mean"]:.2f} ± {100 * r["std"]:.2f}']
        if p is None:
            cells += ['(reference)' if r['strategy'] == res.ref else '-'] + \
                ['-'] * 3
        else:
            cells += [
                f'{100 * p.mean:+.2f}',
                _interval(p.t_low, p.t_high),
                _interval(p.boot_low, p.boot_high),
                f'{p.wins}/{p.ties}/{p.losses}'
            ]
        rows.append(cells)
    ref = res.ref or '-'
    return _md(
        ['strategy'] + [f'seed {k}' for k in res.seeds] +
        ['mean ± std', f'Δ vs {ref}', 't 95%', 'bootstrap 95%', 'W/T/L'], rows)


def paired_rows(res: BenchmarkResults) -> List[dict]:
    """Per strategy and cycle: the paired difference of the metric."""
    out = []
    if not res.ref:
        return out
    ref = res.per_seed(res.ref, res.metric)
    for s in res.strategies:
        if s == res.ref:
            continue
        vals = res.per_seed(s, res.metric)
        for k in range(res.num_cycles):
            p = paired_difference(vals[:, k], ref[:, k], tie=TIE)
            out.append(dict(strategy=s, cycle=k, paired=p))
    return out


def paired_table(res: BenchmarkResults) -> str:
    """Δ metric (points) per strategy and cycle, with intervals."""
    imgs = _images(res)
    rows = []
    for r in paired_rows(res):
        p = r['paired']
        rows.append([
            r['strategy'],
            str(imgs[r['cycle']]), f'{100 * p.mean:+.2f}',
            _interval(p.t_low, p.t_high),
            _interval(p.boot_low, p.boot_high), f'{p.wins}/{p.ties}/{p.losses}'
        ])
    return _md([
        'strategy', 'labeled images', f'Δ {res.metric} vs {res.ref}', 't 95%',
        'bootstrap 95%', 'W/T/L'
    ], rows)


def demo_table(res: BenchmarkResults) -> str:
    """A plain-text table per cycle: each strategy's boxes and metric
    (mean over seeds) and each one's paired difference against the
    reference, as printed at the end of a benchmark."""
    imgs = _images(res)
    others = [s for s in res.strategies if s != res.ref]
    head = ['cycle', 'images']
    for s in res.strategies:
        head += [f'{s} boxes', f'{s} {res.metric}']
    head += [f'Δ {s}' for s in others if res.ref]
    cells = []
    for k, n in enumerate(imgs):
        row = [str(k), str(n)]
        for s in res.strategies:
            row += [
                f'{res.per_seed(s, "labeled_boxes")[:, k].mean():.0f}',
                f'{res.per_seed(s, res.metric)[:, k].mean():.3f}'
            ]
        if res.ref:
            ref = res.per_seed(res.ref, res.metric)[:, k]
            row += [
                f'{(res.per_seed(s, res.metric)[:, k] - ref).mean():+.3f}'
                for s in others
            ]
        cells.append(row)
    w = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    line = '  '.join(h.rjust(x) for h, x in zip(head, w))
    out = [line, '-' * len(line)]
    out += ['  '.join(c.rjust(x) for c, x in zip(r, w)) for r in cells]
    return '\n'.join(out)


def _csv(rows: List[dict]) -> str:
    buf = io.StringIO()
    if rows:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def _flat(rows: List[dict]) -> List[dict]:
    out = []
    for r in rows:
        r = dict(r)
        p = r.pop('paired', None)
        if p is not None:
            r.update({f'diff_{k}': v for k, v in vars(p).items()})
        out.append(r)
    return out


def csv_files(res: BenchmarkResults) -> Dict[str, str]:
    """name -> content of the report's CSV files."""
    runs = []
    for s in res.strategies:
        for seed in res.seeds:
            for r in res.runs[s, seed]:
                runs.append(
                    dict(strategy=s, seed=seed, cost_s=res.cost(r), **r))
    summary = []
    for s in res.strategies:
        for k, n in enumerate(_images(res)):
            row = dict(strategy=s, cycle=k, labeled_images=n)
            for key in ('labeled_boxes', 'cost', res.metric, 'bbox_AP50'):
                v = res.per_seed(s, key)[:, k]
                row[f'{key}_mean'], row[f'{key}_std'] = mean_std(v)
            summary.append(row)
    return {
        'runs.csv': _csv(runs),
        'summary.csv': _csv(summary),
        'aubc.csv': _csv(_flat(aubc_rows(res))),
        'paired.csv': _csv(_flat(paired_rows(res))),
    }


def plot_curves(res: BenchmarkResults, path: str) -> None:
    """The metric against labeled images, boxes and cost (h)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    axes_x = [('labeled_images', 'labeled images', 1.0),
              ('labeled_boxes', 'labeled boxes', 1.0),
              ('cost', 'annotation cost (h): '
               f'{res.bench.cost["c_img"]:g} s/image + '
               f'{res.bench.cost["c_box"]:g} s/box', 1 / 3600)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), dpi=110, sharey=True)
    for ax, (key, label, scale) in zip(axes, axes_x):
        for s in res.strategies:
            x = res.per_seed(s, key).mean(axis=0) * scale
            y = res.per_seed(s, res.metric)
            m = y.mean(axis=0)
            style = dict(lw=2.2, color='k') if s == res.ref else dict(lw=1.4)
            line, = ax.plot(x, m, 'o-', label=s, ms=3.5, **style)
            if len(res.seeds) > 1:
                sd = y.std(axis=0, ddof=1)
                ax.fill_between(
                    x, m - sd, m + sd, alpha=0.12, color=line.get_color())
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f'{res.metric} (mean ± std over '
                       f'{len(res.seeds)} seeds)')
    axes[0].legend(fontsize=8)
    fig.suptitle(osp.splitext(osp.basename(res.bench.path))[0])
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png')
    plt.close(fig)


def markdown(res: BenchmarkResults) -> str:
    """The text of ``report.md``."""
    b = res.bench
    same = res.cycle0_identical()
    lines = [
        f'# Benchmark {osp.splitext(osp.basename(b.path))[0]}', '',
        f'Base config `{osp.relpath(b.base)}`; strategies '
        f'{", ".join(f"`{s}`" for s in res.strategies)}; seeds '
        f'{res.seeds} (`al.seed`' +
        (' and `randomness.seed`' if b.seed_training else '') +
        '); each seed\'s runs start from one shared cycle 0. Metric '
        f'`{res.metric}` on the validation set, in %. Cost model: '
        f'{b.cost["c_img"]:g} s per image + {b.cost["c_box"]:g} s per box. '
        f'Reference of the paired differences: `{res.ref}`.', '',
        'Cycle-0 rows identical across strategies: ' +
        ', '.join(f'seed {s}: {"yes" if v else "NO"}'
                  for s, v in same.items()) + '.', ''
    ]
    if res.partial:
        lines += [
            f'**Interim report**: the runs so far, cut to the '
            f'{res.num_cycles} cycle(s) all of them have evaluated.', ''
        ]
    elif res.missing:
        lines += [f'Not finished (left out): {", ".join(res.missing)}.', '']
    lines += [
        f'## {res.metric} per cycle (mean ± std over seeds; layout of the '
        "BiB paper's VOC07 table)", '',
        bib_table(res), '', "## The ENMS + DivProto paper's Table 1 layout",
        '', 'Columns: labeled share of the pool.', '',
        enms_table(res), '', '## Labeled boxes and annotation cost', '',
        counts_table(res), '',
        f'## Normalised AUBC of {res.metric} vs labeled images '
        '(Zhan et al., IJCAI 2021)', '',
        f'Δ: paired difference against `{res.ref}` over seeds with 95 % '
        'intervals (paired t; percentile bootstrap, 10,000 resamples, seed '
        f'0); W/T/L: seeds won / tied (within {100 * TIE:g} points) / '
        'lost.', '',
        aubc_table(res), '',
        '## Time per cycle (wall seconds, mean over seeds)', '',
        'The acquisition columns (pool scoring with the cycle\'s model, '
        'selection) are the step that picks the next cycle\'s images; the '
        'shared cycle 0 is trained and evaluated once per seed, its '
        'acquisition by each strategy.', '',
        time_table(res), ''
    ]
    if res.ref:
        lines += [
            f'## Paired difference per cycle against `{res.ref}`', '',
            paired_table(res), ''
        ]
    lines += ['## Curves', '', '![curves](curves.png)', '']
    return '\n'.join(lines)


def write_report(matrix: Matrix,
                 out_dir: Optional[str] = None,
                 partial: bool = False) -> str:
    """Write the report of the finished runs (``partial``: of the runs so
    far, see :class:`BenchmarkResults`); returns its folder."""
    res = BenchmarkResults(matrix, partial)
    if not res.strategies or not res.seeds:
        from mmal.active_learning.pool import SplitError
        raise SplitError(f'{matrix.root}: no strategy has finished a seed '
                         'that every other has finished; nothing to report')
    name = osp.splitext(osp.basename(matrix.bench.path))[0]
    out = out_dir or osp.join(matrix.root, 'reports', name)
    for name, text in csv_files(res).items():
        atomic_write_text(text, osp.join(out, name))
    plot_curves(res, osp.join(out, 'curves.png'))
    atomic_write_text(markdown(res), osp.join(out, 'report.md'))
    atomic_write_text(demo_table(res) + '\n', osp.join(out, 'table.txt'))
    return out
