"""Per-cycle results: ``results.csv``, ``results.json``, a printed table and
``al_curve.png`` (metric vs labeled images)."""
import csv
import io
from typing import Dict, List, Optional, Sequence

from mmal.utils.fileio import atomic_open, atomic_write_json
from .work_dir import WorkDir

SUMMARY_METRICS = {
    'bbox_AP': ('coco/bbox_mAP', ),
    'bbox_AP50': ('coco/bbox_mAP_50', 'pascal_voc/AP50', 'pascal_voc/mAP'),
    'bbox_AP75': ('coco/bbox_mAP_75', ),
}


def make_row(cycle: int, labeled_images: int, labeled_boxes: int,
             metrics: Dict[str, float], classes: Sequence[str],
             timings: Dict[str, Optional[float]]) -> dict:
    """One results row: counts, headline metrics, per-class AP, seconds."""
    row = dict(
        cycle=cycle,
        labeled_images=labeled_images,
        labeled_boxes=labeled_boxes)
    for name, keys in SUMMARY_METRICS.items():
        row[name] = next((metrics[k] for k in keys if k in metrics), None)
    if 'pascal_voc/mAP' in metrics:
        row['voc_mAP'] = metrics['pascal_voc/mAP']
    for c in classes:
        row[f'AP_{c}'] = metrics.get(f'coco/{c}_precision')
    for key in ('train_s', 'test_s', 'inference_s', 'selection_s'):
        v = timings.get(key)
        row[key] = None if v is None else round(float(v), 3)
    return row


def format_table(rows: List[dict]) -> str:
    """A plain-text table of the headline columns."""
    cols = [
        'cycle', 'labeled_images', 'labeled_boxes', 'bbox_AP', 'bbox_AP50',
        'bbox_AP75', 'train_s', 'inference_s', 'selection_s'
    ]
    if rows and rows[0].get('voc_mAP') is not None:
        cols[3:6] = ['voc_mAP']

    def fmt(v):
        if v is None:
            return '-'
        if isinstance(v, float):
            return f'{v:.3f}' if abs(v) < 10 else f'{v:.0f}'
        return str(v)

    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [
        max(len(c), *(len(x[i]) for x in cells)) if cells else len(c)
        for i, c in enumerate(cols)
    ]
    line = '  '.join(c.rjust(w) for c, w in zip(cols, widths))
    out = [line, '-' * len(line)]
    out += ['  '.join(x.rjust(w) for x, w in zip(r, widths)) for r in cells]
    return '\n'.join(out)


def write_results(work_dir: str, rows: List[dict], meta: dict) -> None:
    """Write ``results.csv``, ``results.json`` and ``al_curve.png``."""
    files = WorkDir(work_dir)
    atomic_write_json(dict(meta, cycles=rows), files.results_json, indent=1)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with atomic_open(files.results_csv) as f:
        f.write(buf.getvalue())
    plot_curve(rows, meta.get('name', ''), files.curve)


def plot_curve(rows: List[dict], title: str, path: str) -> None:
    """Metric vs labeled images for one run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metric = 'voc_mAP' if rows and rows[0].get('voc_mAP') is not None \
        else 'bbox_AP'
    pts = [(r['labeled_images'], r[metric]) for r in rows
           if r.get(metric) is not None]
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    if pts:
        x, y = zip(*pts)
        ax.plot(x, y, 'o-')
    ax.set_xlabel('labeled images')
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png')
    plt.close(fig)
