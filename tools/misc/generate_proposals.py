"""Compute object proposals for your own images (for WSDDN / MIST-style
weakly-supervised detectors) and save them as a proposal ``.npz``.

Input is a folder of images or a COCO json. With a json, proposals are keyed
by its image ids (``file_name`` joined with ``--img-dir``). With a folder,
images get ids 1..M in sorted file-name order and a minimal COCO json listing
them (``OUT`` with ``.json`` in place of ``.npz``) is written too, so the
ids are defined.

Methods:
    selective-search  cv2.ximgproc Selective Search (``--mode fast`` or
                      ``quality``); needs the OpenCV contrib build.
    edge-boxes        cv2.ximgproc EdgeBoxes; needs the OpenCV contrib build
                      and a structured-edge model (``--edge-model``, e.g.
                      ``model.yml.gz`` from opencv_extra).
    toy               mmal's pixel-grouping generator (no contrib needed;
                      made for flat-coloured objects such as the toy data).

Example:
    python tools/misc/generate_proposals.py data/my_images props.npz \\
        --method selective-search --mode fast --workers 8
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np

from mmal.datasets.proposal_file import save_proposals
from mmal.datasets.transforms.proposal_transforms import apply_clean
from mmal.testing.toy_proposals import toy_proposals
from mmal.utils.fileio import atomic_write_json

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
DEFAULT_MAX = {'selective-search': 2000, 'edge-boxes': 2000, 'toy': 300}
CONTRIB_HELP = (
    'cv2.ximgproc is missing: --method {method} needs the OpenCV *contrib* '
    'build. It provides the same cv2 module (which mmcv needs) plus ximgproc;'
    ' install it in place of the plain wheel:\n'
    '    pip uninstall -y opencv-python opencv-python-headless\n'
    '    pip install opencv-contrib-python-headless{requirement}\n'
    'or use --method toy (mmal\'s pixel-grouping generator, no contrib '
    'needed).')

_STATE = {}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Compute object proposals for a folder of images or the '
        'images of a COCO json.')
    parser.add_argument(
        'source', help='image folder, or a COCO json (see --img-dir)')
    parser.add_argument('out', help='output proposal file (.npz)')
    parser.add_argument(
        '--img-dir',
        help='folder the json file_names are relative to (default: the '
        'json\'s folder)')
    parser.add_argument(
        '--method',
        choices=['selective-search', 'edge-boxes', 'toy'],
        default='selective-search')
    parser.add_argument(
        '--max-proposals',
        type=int,
        help='boxes per image at most (default: 2000, 300 for toy)')
    parser.add_argument(
        '--mode',
        choices=['fast', 'quality'],
        default='fast',
        help='selective search strategy')
    parser.add_argument(
        '--max-side',
        type=int,
        default=500,
        help='downscale images whose longer side exceeds this before '
        'computing (boxes are mapped back); 0 disables')
    parser.add_argument(
        '--edge-model', help='structured edge model for edge-boxes')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the toy method')
    parser.add_argument('--workers', type=int, default=1)
    args = parser.parse_args(argv)
    if args.max_proposals is None:
        args.max_proposals = DEFAULT_MAX[args.method]
    if args.max_proposals < 1:
        parser.error('--max-proposals must be >= 1')
    if osp.splitext(args.out)[1].lower() == '.json':
        parser.error('OUT is the proposal .npz; the image json of a folder '
                     'source is written next to it')
    return args


def _cv2_requirement():
    """``==<version>`` of the installed OpenCV wheel (cv2.__version__
    lacks the wheel's build number, e.g. 4.10.0 for 4.10.0.84)."""
    from importlib import metadata
    for dist in ('opencv-python', 'opencv-python-headless',
                 'opencv-contrib-python', 'opencv-contrib-python-headless'):
        try:
            return '==' + metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return f'=={cv2.__version__}.*'


def check_method(args):
    """Fail before any work when the method cannot run here."""
    if args.method in ('selective-search', 'edge-boxes'):
        if not hasattr(cv2, 'ximgproc'):
            sys.exit(
                CONTRIB_HELP.format(
                    method=args.method, requirement=_cv2_requirement()))
    if args.method == 'edge-boxes':
        if not args.edge_model:
            sys.exit('--method edge-boxes needs --edge-model PATH (a '
                     'structured edge model such as model.yml.gz from '
                     'opencv_extra/testdata/cv/ximgproc)')
        if not osp.isfile(args.edge_model):
            sys.exit(f'--edge-model {args.edge_model}: file not found')


def list_images(args):
    """``(images, write_json)``: dicts with id, file_name and path."""
    if osp.isdir(args.source):
        names = sorted(
            n for n in os.listdir(args.source) if n.lower().endswith(IMG_EXTS)
            and osp.isfile(osp.join(args.source, n)))
        if not names:
            sys.exit(f'{args.source}: no images ({", ".join(IMG_EXTS)})')
        return [
            dict(id=i + 1, file_name=n, path=osp.join(args.source, n))
            for i, n in enumerate(names)
        ], True
    if not osp.isfile(args.source):
        sys.exit(f'{args.source}: no such folder or file')
    try:
        with open(args.source) as f:
            coco = json.load(f)
        infos = coco['images']
        images = [
            dict(id=int(info['id']), file_name=info['file_name'])
            for info in infos
        ]
    except (ValueError, KeyError, TypeError) as e:
        sys.exit(f'{args.source}: expected a COCO json with images that have '
                 f'id and file_name ({type(e).__name__}: {e})')
    img_dir = args.img_dir or osp.dirname(osp.abspath(args.source))
    for image in images:
        image['path'] = osp.join(img_dir, image['file_name'])
    missing = [im['path'] for im in images if not osp.isfile(im['path'])]
    if missing:
        sys.exit(f'{len(missing)} of {len(images)} images of {args.source} '
                 f'not found, e.g. {missing[0]} (set --img-dir to the folder '
                 f'the file_names are relative to)')
    return images, False


def _init_worker():
    cv2.setNumThreads(1)


def _edge_detector(model):
    if 'sed' not in _STATE:
        _STATE['sed'] = cv2.ximgproc.createStructuredEdgeDetection(model)
    return _STATE['sed']


def compute(task):
    """Proposals of one image: ``(boxes, scores, height, width, seconds)``
    in the pixels of the original image."""
    image, opts = task
    bgr = cv2.imread(image['path'], cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError(f'{image["path"]}: cannot read image')
    start = time.perf_counter()
    h, w = bgr.shape[:2]
    scale = 1.0
    if opts['max_side'] and max(h, w) > opts['max_side']:
        scale = opts['max_side'] / max(h, w)
        bgr = cv2.resize(
            bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA)
    limit = opts['max_proposals']
    if opts['method'] == 'toy':
        rng = np.random.default_rng([opts['seed'], image['id']])
        boxes, scores = toy_proposals(bgr[:, :, ::-1], limit, rng)
    elif opts['method'] == 'selective-search':
        ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
        ss.setBaseImage(bgr)
        if opts['mode'] == 'fast':
            ss.switchToSelectiveSearchFast()
        else:
            ss.switchToSelectiveSearchQuality()
        rects = np.asarray(ss.process(), np.float64).reshape(-1, 4)[:limit]
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]],
                               axis=1)
        # Selective search ranks its boxes; the rank becomes the score.
        scores = 1 - np.arange(len(boxes)) / max(len(boxes), 1)
    else:
        sed = _edge_detector(opts['edge_model'])
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        edges = sed.detectEdges(rgb)
        orient = sed.computeOrientation(edges)
        edges = sed.edgesNms(edges, orient)
        eb = cv2.ximgproc.createEdgeBoxes()
        eb.setMaxBoxes(limit)
        rects, scores = eb.getBoundingBoxes(edges, orient)
        rects = np.asarray(rects, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]],
                               axis=1)
    boxes = np.asarray(boxes, np.float64) / scale
    boxes, scores = apply_clean(boxes, scores, (h, w))
    return boxes, scores, h, w, time.perf_counter() - start


def main(argv=None):
    args = parse_args(argv)
    check_method(args)
    from tqdm import tqdm

    images, write_json = list_images(args)
    opts = dict(
        method=args.method,
        mode=args.mode,
        max_side=args.max_side,
        max_proposals=args.max_proposals,
        edge_model=args.edge_model,
        seed=args.seed)
    tasks = [(image, opts) for image in images]
    bar = dict(total=len(tasks), desc=f'{args.method} proposals')
    start = time.perf_counter()
    if args.workers > 1:
        with multiprocessing.Pool(args.workers, _init_worker) as pool:
            results = list(tqdm(pool.imap(compute, tasks, chunksize=4), **bar))
    else:
        results = [compute(task) for task in tqdm(tasks, **bar)]
    wall = time.perf_counter() - start
    if write_json:
        json_path = osp.splitext(args.out)[0] + '.json'
        coco = dict(
            info=dict(description=f'images of {osp.abspath(args.source)}'),
            images=[
                dict(
                    id=im['id'], file_name=im['file_name'], width=w, height=h)
                for im, (_, _, h, w, _) in zip(images, results)
            ],
            annotations=[],
            categories=[])
        atomic_write_json(coco, json_path)
        print(f'wrote {json_path} (image ids 1..{len(images)})')
    meta = {k: v for k, v in opts.items() if k != 'edge_model'}
    save_proposals(
        args.out, [im['id'] for im in images], [r[0] for r in results],
        [r[1] for r in results],
        file_names=[im['file_name'] for im in images],
        meta=dict(generator=args.method, **meta))
    counts = np.array([len(r[0]) for r in results])
    per_image = np.mean([r[4] for r in results]) * 1000
    print(f'wrote {args.out}: {len(images)} images, {counts.mean():.0f} '
          f'boxes per image (min {counts.min()}, max {counts.max()}), '
          f'{per_image:.1f} ms per image per worker, {wall:.1f} s in all')


if __name__ == '__main__':
    main()
