"""Generate the toy shapes dataset (COCO json + PNG images).

    python tools/misc/make_toy_dataset.py data/toy --num-train 200 \
        --num-val 50 --imbalance 10 --clutter 0.5 --group-prob 0.3
"""
import argparse

from mmal.testing import ToySpec, make_toy_benchmark


def _pair(text):
    lo, hi = (int(v) for v in text.split(','))
    return lo, hi


def parse_args():
    d = ToySpec()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root', help='output folder, e.g. data/toy')
    p.add_argument('--num-train', type=int, default=200)
    p.add_argument('--num-val', type=int, default=50)
    p.add_argument('--num-classes', type=int, default=d.num_classes)
    p.add_argument('--image-size', type=int, default=d.image_size)
    p.add_argument(
        '--objects-per-image',
        type=_pair,
        default=d.objects_per_image,
        metavar='LO,HI')
    p.add_argument(
        '--imbalance',
        type=float,
        default=d.imbalance,
        help='most / least frequent class frequency (1 = balanced)')
    p.add_argument(
        '--object-size', type=_pair, default=d.object_size, metavar='LO,HI')
    p.add_argument('--small-fraction', type=float, default=d.small_fraction)
    p.add_argument(
        '--small-size', type=_pair, default=d.small_size, metavar='LO,HI')
    p.add_argument('--clutter', type=float, default=d.clutter)
    p.add_argument('--max-occlusion', type=float, default=d.max_occlusion)
    p.add_argument('--group-prob', type=float, default=d.group_prob)
    p.add_argument(
        '--group-size', type=_pair, default=d.group_size, metavar='LO,HI')
    p.add_argument('--seed', type=int, default=d.seed)
    p.add_argument(
        '--force', action='store_true', help='regenerate even if up to date')
    return p.parse_args()


def main():
    args = vars(parse_args())
    root = args.pop('root')
    try:
        paths = make_toy_benchmark(root, **args)
    except ValueError as error:
        raise SystemExit(f'error: {error}')
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
