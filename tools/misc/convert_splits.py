"""Convert splits between mmal and other active-learning codebases.

Formats (``--format``): ``ppal``, ``blad`` (ComPAS), ``mi-aod``, ``bib``
and, for ``import``, ``mmal`` (a work dir); see docs/split_formats.md.

Import a peer's initial split as an mmal initial split file (a COCO json
of the labeled images with the pool's annotations, for
``al.initial=dict(split_file=OUT)``)::

    python tools/misc/convert_splits.py import CONFIG \\
        data/active_learning/voc/voc_827_labeled_1.json --format ppal \\
        --out work_dirs/init_ppal_1.json

(the loop also reads it directly:
``al.initial=dict(split_file=..., format='ppal')``).

Export every cycle of an mmal work dir in a peer's layout::

    python tools/misc/convert_splits.py export work_dirs/my_run \\
        --format mi-aod --out exported/ \\
        --options image_lists=VOC2007/ImageSets/Main/trainval.txt,\\
VOC2012/ImageSets/Main/trainval.txt

Exit status 2: bad input (nothing written).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from mmal.active_learning import Pool, SplitError, WorkDir, innermost_dataset
from mmal.active_learning.split_formats import NameMatcher, build_split_format
from mmal.utils.fileio import atomic_write_json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Import a peer codebase\'s initial split for an mmal '
        'config, or export an mmal work dir\'s cycles to a peer\'s format')
    sub = parser.add_subparsers(dest='command', required=True)
    imp = sub.add_parser(
        'import', help='a peer split -> an mmal initial '
        'split file')
    imp.add_argument('config', help='the mmal config (its pool)')
    imp.add_argument(
        'source',
        help="the peer's labeled file of its first "
        'round, or its run folder (cycle 0 is taken)')
    imp.add_argument('--out', required=True, help='the COCO json to write')
    exp = sub.add_parser('export', help="an mmal work dir -> a peer's files")
    exp.add_argument('work_dir', help='a finished (or running) mmal work dir')
    exp.add_argument('--out', required=True, help='folder to write into')
    exp.add_argument(
        '--config',
        help="the run's config (default: the work dir's config.py)")
    for p in (imp, exp):
        p.add_argument(
            '--format',
            required=True,
            help='ppal, blad, mi-aod, '
            'bib (import also: mmal)')
        p.add_argument(
            '--options',
            nargs='+',
            action=DictAction,
            default={},
            help="the format's options, e.g. image_lists=a.txt,b.txt")
    return parser.parse_args(argv)


def config_pool(config: str) -> Pool:
    """The pool the loop would use for ``config`` (no image check)."""
    if not osp.isfile(config):
        raise SplitError(f'config {config!r} does not exist')
    cfg = Config.fromfile(config)
    train_ds = innermost_dataset(cfg.train_dataloader.dataset)
    al_pool = (cfg.get('al') or {}).get('pool') or {}
    ann = al_pool.get('ann_file') or osp.join(
        train_ds.get('data_root') or '', train_ds.ann_file)
    classes = (train_ds.get('metainfo') or {}).get('classes')
    return Pool(ann, classes)


def run_import(args) -> None:
    pool = config_pool(args.config)
    fmt = build_split_format(dict(type=args.format, **args.options))
    history = fmt.read(args.source)
    if 0 not in history:
        raise SplitError(f'{args.source!r} holds no initial split (cycle '
                         f'0); cycles found: {sorted(history)}')
    rec = history[0]
    ids = NameMatcher.of_pool(pool).ids(rec.labeled, rec.file)
    atomic_write_json(pool.subset(ids, pool.anns_by_image), args.out)
    print(f'[mmal convert] {ids.size} initial images of {rec.file} -> '
          f"{args.out} (al.initial=dict(split_file='{args.out}'))")


def run_export(args) -> None:
    wd = WorkDir(args.work_dir)
    config = args.config or wd.config
    pool = config_pool(config)
    history = build_split_format('mmal').read(wd.root)
    fmt = build_split_format(dict(type=args.format, **args.options))
    files = fmt.write(history, pool, args.out)
    print(f'[mmal convert] {len(history)} cycles of {wd.root} -> '
          f'{len(files)} {args.format} files in {args.out}')


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        (run_import if args.command == 'import' else run_export)(args)
    except SplitError as e:
        print(f'[mmal convert] error: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
