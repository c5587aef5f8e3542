"""Where active-learning runs stand: the cycle and step in progress, whether
a loop holds the work dir now, the last metrics and the time left.

    python tools/al_status.py WORK_DIR [WORK_DIR ...] [--json] [--watch S]

It only reads the work dir, so it can be asked while the loop runs (from
another shell, another node of a shared file system) and after it ended.
"""
import argparse
import json
import sys
import time

from mmal.active_learning.pool import SplitError
from mmal.active_learning.run_status import read_status, status_lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument(
        '--json', action='store_true', help='one json object per work dir')
    parser.add_argument(
        '--watch',
        type=float,
        metavar='S',
        help='print again every S seconds until every run has ended')
    args = parser.parse_args(argv)
    try:
        while True:
            if args.json:
                print(
                    json.dumps(
                        [read_status(w).as_dict() for w in args.work_dirs],
                        indent=1))
            else:
                print(status_lines(args.work_dirs), flush=True)
            if not args.watch or all(
                    read_status(w).finished for w in args.work_dirs):
                return 0
            time.sleep(args.watch)
            print()
    except SplitError as e:
        print(f'al_status: {e}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
