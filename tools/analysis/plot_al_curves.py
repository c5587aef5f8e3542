"""Overlay the active-learning curves of several runs.

Each run directory holds the ``results.json`` written by
``tools/al_train.py``: one row per cycle with ``labeled_images`` and the
evaluation metrics. This tool groups runs into curves (by acquisition
strategy, or by run name) and, within a group, aggregates the seeds at each
labeled-image count: the mean, and the **sample** standard deviation
(``ddof=1``) when at least two runs reported that point.

    python tools/analysis/plot_al_curves.py work_dirs/*_seed* \\
        --metric bbox_AP --group-by strategy --out-dir al_curves

Writes ``<out-dir>/al_curves.png`` (mean line with markers and a +-std
band) and ``<out-dir>/al_curves.md`` (one row per group, one column per
labeled-image count with cells ``mean ± std (n=K)``, and a last column with
the mean over cycles), and prints the Markdown table.
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.fileio import load

from mmal.active_learning.work_dir import WorkDir
from mmal.utils.fileio import atomic_open

#: Tried in order when ``--metric`` is not given.
DEFAULT_METRICS = ('bbox_AP', 'voc_mAP')
GROUP_BY = ('strategy', 'name')
MISSING = '-'


class ResultsError(Exception):
    """A run's ``results.json`` is missing, malformed or lacks a metric."""


def resolve_results_path(path: str) -> str:
    """The ``results.json`` for a command-line path.

    Args:
        path (str): A run directory or a ``results.json`` file.

    Returns:
        str: The path of the run's ``results.json``.

    Raises:
        ResultsError: If the file does not exist.
    """
    # the path as given (WorkDir(path).results_json would be absolute)
    file = osp.join(path, WorkDir.RESULTS_JSON) if osp.isdir(path) else path
    if not osp.isfile(file):
        if osp.isdir(path):
            raise ResultsError(f'{path}: no {WorkDir.RESULTS_JSON} in this '
                               'directory (has the run finished a cycle?)')
        raise ResultsError(f'{path}: no such file or directory')
    return file


def _check_run(run: dict, file: str) -> None:
    """Validate the parts of a loaded ``results.json`` that are used."""
    if not isinstance(run, dict):
        raise ResultsError(f'{file}: expected a JSON object at the top level')
    cycles = run.get('cycles')
    if not isinstance(cycles, list):
        raise ResultsError(f'{file}: no "cycles" list')
    for i, row in enumerate(cycles):
        if not isinstance(row, dict):
            raise ResultsError(f'{file}: cycles[{i}] is not an object')
        x = row.get('labeled_images')
        if isinstance(x, bool) or not isinstance(x, int):
            raise ResultsError(
                f'{file}: cycles[{i}] has no integer "labeled_images"')


def load_runs(paths: Sequence[str]) -> List[dict]:
    """Load the ``results.json`` of several runs.

    Args:
        paths (Sequence[str]): Run directories or ``results.json`` files.

    Returns:
        list[dict]: The loaded runs in the given order; each is the JSON
        object with an added ``'_path'`` key holding its file.

    Raises:
        ResultsError: If a path has no ``results.json``, a file is given
            twice, or a file is not valid JSON of the expected shape.
    """
    runs, seen = [], set()
    for path in paths:
        file = resolve_results_path(path)
        real = osp.realpath(file)
        if real in seen:
            raise ResultsError(f'{file}: given more than once')
        seen.add(real)
        try:
            run = load(file, file_format='json')
        except ValueError as e:  # also UnicodeDecodeError
            raise ResultsError(f'{file}: malformed JSON ({e})') from None
        _check_run(run, file)
        run['_path'] = file
        runs.append(run)
    return runs


def _values(run: dict, metric: str) -> Dict[int, float]:
    """``{labeled_images: value}`` for the cycles where ``metric`` is set
    (a later cycle at the same count wins)."""
    out = {}
    for row in run['cycles']:
        v = row.get(metric)
        if v is None or isinstance(v, bool):
            continue
        if not isinstance(v, (int, float)):
            raise ResultsError(f'{run["_path"]}: {metric}={v!r} at '
                               f'labeled_images={row["labeled_images"]} is '
                               'not a number')
        out[row['labeled_images']] = float(v)
    return out


def default_metric(runs: Sequence[dict]) -> str:
    """``bbox_AP`` if any run reports it, else ``voc_mAP``.

    Args:
        runs (Sequence[dict]): Runs from :func:`load_runs`.

    Returns:
        str: The metric name.
    """
    for metric in DEFAULT_METRICS:
        if any(_values(run, metric) for run in runs):
            return metric
    return DEFAULT_METRICS[-1]


def group_key(run: dict, group_by: str) -> str:
    """The curve a run belongs to.

    Args:
        run (dict): A run from :func:`load_runs`.
        group_by (str): ``'strategy'`` (the strategy's ``type``) or
            ``'name'`` (the run name, which is the same for all seeds of a
            config).

    Returns:
        str: The group key.

    Raises:
        ResultsError: If the run lacks the field.
    """
    if group_by not in GROUP_BY:
        raise ValueError(f'group_by must be one of {GROUP_BY}, '
                         f'got {group_by!r}')
    value = run.get(group_by)
    if group_by == 'strategy' and isinstance(value, dict):
        value = value.get('type')
    if value is None or value == '':
        field = 'strategy.type' if group_by == 'strategy' else 'name'
        raise ResultsError(f'{run["_path"]}: no "{field}" to group by')
    return str(value)


def aggregate(runs: Sequence[dict],
              metric: str,
              group_by: str = 'strategy') -> List[dict]:
    """Group runs into curves and aggregate their seeds per labeled count.

    Args:
        runs (Sequence[dict]): Runs from :func:`load_runs`.
        metric (str): The results column to plot, e.g. ``'bbox_AP'``.
        group_by (str): ``'strategy'`` or ``'name'``, see :func:`group_key`.
            Defaults to ``'strategy'``.

    Returns:
        list[dict]: One dict per group, in order of first appearance, with
        ``label`` (str), ``paths`` (the runs' files), ``x`` (sorted labeled
        counts where at least one run has a value), ``mean``, ``std`` and
        ``n`` (arrays aligned with ``x``; ``std`` is the sample standard
        deviation, ``ddof=1``, and NaN where ``n < 2``), ``values``
        (``{x: [value per run]}``) and ``run_means`` (each run's mean over
        its cycles).

    Raises:
        ResultsError: If a run has no value at all for ``metric``.
    """
    groups = OrderedDict()
    for run in runs:
        vals = _values(run, metric)
        if not vals:
            present = sorted({
                k
                for row in run['cycles']
                for k, v in row.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)
                and k not in ('cycle', 'labeled_images', 'labeled_boxes')
            })
            raise ResultsError(
                f'{run["_path"]}: metric {metric!r} is absent or null in '
                f'every cycle (available: {", ".join(present) or "none"})')
        key = group_key(run, group_by)
        g = groups.setdefault(
            key, dict(label=key, paths=[], seeds=[], values={}, run_means=[]))
        g['paths'].append(run['_path'])
        g['seeds'].append(run.get('seed'))
        g['run_means'].append(float(np.mean(list(vals.values()))))
        for x, v in vals.items():
            g['values'].setdefault(x, []).append(v)
    out = []
    for g in groups.values():
        xs = sorted(g['values'])
        g['values'] = {x: g['values'][x] for x in xs}
        g['x'] = np.array(xs)
        g['n'] = np.array([len(g['values'][x]) for x in xs])
        g['mean'] = np.array([np.mean(g['values'][x]) for x in xs])
        g['std'] = np.array([
            np.std(g['values'][x], ddof=1)
            if len(g['values'][x]) > 1 else np.nan for x in xs
        ])
        out.append(g)
    return out


def format_cell(values: Sequence[float]) -> str:
    """``'mean ± std (n=K)'`` to 3 decimals, ``'mean (n=1)'`` for a single
    value, ``'-'`` for none. The std is the sample std (``ddof=1``).

    Args:
        values (Sequence[float]): The values of one cell.

    Returns:
        str: The formatted cell.
    """
    n = len(values)
    if n == 0:
        return MISSING
    mean = float(np.mean(values))
    if n == 1:
        return f'{mean:.3f} (n=1)'
    return f'{mean:.3f} ± {float(np.std(values, ddof=1)):.3f} (n={n})'


def _md_escape(text: str) -> str:
    return str(text).replace('|', '\\|')


def markdown_table(groups: Sequence[dict], group_by: str = 'strategy') -> str:
    """A Markdown table: one row per group, one column per labeled-image
    count (the union over groups; ``'-'`` where a group has no value), and
    a ``mean over cycles`` column: each run's mean over its cycles,
    aggregated over the group's runs.

    Args:
        groups (Sequence[dict]): Output of :func:`aggregate`.
        group_by (str): Header of the first column. Defaults to
            ``'strategy'``.

    Returns:
        str: The table, without a trailing newline.
    """
    xs = sorted({int(x) for g in groups for x in g['x']})
    header = [group_by] + [str(x) for x in xs] + ['mean over cycles']
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join([' --- '] + [' ---: '] * (len(header) - 1)) + '|'
    ]
    for g in groups:
        cells = [_md_escape(g['label'])]
        cells += [format_cell(g['values'].get(x, [])) for x in xs]
        cells.append(format_cell(g['run_means']))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot(groups: Sequence[dict],
         metric: str,
         path: str,
         title: Optional[str] = None) -> None:
    """Plot mean curves with markers and a +-std band (where ``n >= 2``).

    Uses matplotlib's Agg canvas directly (no pyplot, no display needed)
    and writes the PNG atomically.

    Args:
        groups (Sequence[dict]): Output of :func:`aggregate`.
        metric (str): The metric, used as y label.
        path (str): Destination ``.png`` file.
        title (str, optional): Figure title. Defaults to
            ``'<metric> vs labeled images'``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for g in groups:
        runs = len(g['paths'])
        line, = ax.plot(
            g['x'], g['mean'], marker='o', label=f'{g["label"]} (n={runs})')
        band = g['n'] >= 2
        if band.any():
            ax.fill_between(
                g['x'],
                g['mean'] - g['std'],
                g['mean'] + g['std'],
                where=band,
                interpolate=False,
                color=line.get_color(),
                alpha=0.2,
                linewidth=0)
    ax.set_xlabel('labeled images')
    ax.set_ylabel(metric)
    ax.set_title(title or f'{metric} vs labeled images')
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize='small')
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Overlay active-learning curves of several runs '
        '(strategies x seeds): per group, mean and sample std (ddof=1) over '
        'seeds at each labeled-image count. Writes al_curves.png and '
        'al_curves.md to --out-dir and prints the Markdown table.')
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='RUN_DIR_OR_RESULTS_JSON',
        help='run work_dirs (containing results.json) or results.json files')
    parser.add_argument(
        '--metric',
        help='results.json column to plot, e.g. bbox_AP, bbox_AP50, '
        'voc_mAP (default: bbox_AP if any run has it, else voc_mAP)')
    parser.add_argument(
        '--group-by',
        choices=GROUP_BY,
        default='strategy',
        help='one curve per strategy type or per run name; the runs of a '
        'group are aggregated (default: strategy)')
    parser.add_argument(
        '--labels',
        nargs='+',
        metavar='LABEL',
        help='legend/table labels for the groups, in order of first '
        'appearance on the command line')
    parser.add_argument(
        '--out-dir',
        default='al_curves',
        help='where al_curves.png and al_curves.md go (default: '
        './al_curves)')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool.

    Args:
        argv (Sequence[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        int: The exit status, 0 on success.

    Raises:
        ResultsError: On a missing, malformed or incomplete results file,
            or a ``--labels`` count that does not match the groups.
    """
    args = parse_args(argv)
    runs = load_runs(args.paths)
    metric = args.metric or default_metric(runs)
    groups = aggregate(runs, metric, args.group_by)
    if args.labels is not None:
        if len(args.labels) != len(groups):
            raise ResultsError(
                f'--labels has {len(args.labels)} labels but there are '
                f'{len(groups)} groups: '
                f'{", ".join(g["label"] for g in groups)}')
        for g, label in zip(groups, args.labels):
            g['label'] = label
    for g in groups:
        seeds = [s for s in g['seeds'] if s is not None]
        if len(set(seeds)) < len(seeds):
            print(
                f'warning: group {g["label"]!r} has runs with the same '
                f'seed: {", ".join(g["paths"])}',
                file=sys.stderr)
    table = markdown_table(groups, args.group_by)
    png = osp.join(args.out_dir, 'al_curves.png')
    md = osp.join(args.out_dir, 'al_curves.md')
    plot(groups, metric, png, args.title)
    heading = args.title or f'{metric} vs labeled images'
    text = (f'# {heading}\n\nMetric `{metric}`, grouped by {args.group_by}; '
            'cells are mean ± sample std (ddof=1) over runs, n = runs.\n\n'
            f'{table}\n')
    with atomic_open(md, 'wb') as f:  # UTF-8 whatever the locale
        f.write(text.encode('utf-8'))
    print(table)
    print(f'\nwrote {png} and {md}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except ResultsError as e:
        sys.exit(f'error: {e}')
