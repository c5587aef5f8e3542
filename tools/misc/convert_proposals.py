"""Convert a wetectron / Detectron / BiB / mmdet proposal pickle to mmal's
proposal ``.npz`` for the images of a COCO annotation json.

The pickle is read with an unpickler that only rebuilds numpy arrays, so a
crafted file cannot run code.

Example:
    python tools/misc/convert_proposals.py \\
        proposals/SS-voc_2007_trainval.pkl \\
        data/VOC2007/annotations/voc_2007_trainval.json \\
        data/VOC2007/proposals/proposals_trainval.npz
"""
import argparse
import json

from mmal.datasets.proposals import convert_proposal_pickle


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a proposal pickle to a proposal .npz.')
    parser.add_argument('pkl', help='proposal pickle')
    parser.add_argument(
        'ann_file',
        help='the COCO annotation json the dataset reads (e.g. mmdet-'
        'converted '
        'voc07_trainval.json), or a VOC image set .txt for WeakVOCDataset '
        '(ids are the integer file stems, sizes from Annotations/*.xml)')
    parser.add_argument('out', help='output proposal file (.npz)')
    parser.add_argument(
        '--box-order',
        choices=['xyxy', 'yxyx'],
        default='xyxy',
        help='coordinate order in the pickle (raw Selective Search .mat '
        'files are yxyx)')
    parser.add_argument(
        '--one-based',
        action='store_true',
        help='subtract 1 from every coordinate (MATLAB boxes)')
    parser.add_argument(
        '--min-size',
        type=float,
        default=2,
        help='drop boxes with a side below this (pixels)')
    parser.add_argument(
        '--allow-missing',
        action='store_true',
        help='write json images without proposals with no boxes instead of '
        'failing')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = convert_proposal_pickle(
        args.pkl,
        args.ann_file,
        args.out,
        box_order=args.box_order,
        one_based=args.one_based,
        min_size=args.min_size,
        allow_missing=args.allow_missing)
    print(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
