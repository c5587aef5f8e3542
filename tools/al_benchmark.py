"""Run (or resume, or join) a benchmark: strategies x seeds of one base
config, each seed's runs starting from one shared cycle 0; then write the
report.

    python tools/al_benchmark.py configs/benchmarks/toy_8-strategies_3-seeds.py
    python tools/al_benchmark.py CONFIG --status     # the matrix, no work
    python tools/al_benchmark.py CONFIG --report     # the report only
    tools/al_benchmark.sh CONFIG GPUS                # torchrun, as al_train

Several jobs may run the same command at once (on one machine or on
several sharing the file system): each claims items the others do not
have. Re-running resumes a killed job's item where it stopped.
"""
import argparse
import os.path as osp

from mmengine.dist import get_rank

from mmal.benchmark import BenchmarkConfig, Matrix, work
from mmal.testing import prepare_toy_data
from mmal.utils.config import add_launch_args, load_config, parse_launch_args
from mmal.utils.setup_env import register_all_modules

from al_train import cli_errors, init_distributed  # isort: skip
from al_train import finish_distributed  # isort: skip


def parse_args():
    parser = argparse.ArgumentParser(description='Active-learning benchmark')
    parser.add_argument('config', help='benchmark config (configs/benchmarks)')
    parser.add_argument('--work-dir', help="overrides the config's work_dir")
    parser.add_argument(
        '--shared-dir', help="overrides the config's shared_dir")
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        '--status', action='store_true', help='print the matrix and exit')
    what.add_argument(
        '--report',
        action='store_true',
        help='write the report of the finished runs and exit')
    parser.add_argument(
        '--partial',
        action='store_true',
        help='with --report: an interim report of the runs so far, cut to '
        'the cycles all of them have evaluated')
    add_launch_args(parser)
    return parse_launch_args(parser)


def main():
    args = parse_args()
    with cli_errors('benchmark'):
        register_all_modules(init_default_scope=True)
        bench = BenchmarkConfig.fromfile(args.config, args.work_dir,
                                         args.shared_dir)
        base = load_config(bench.base, args.launcher, args.cfg_options)
        matrix = Matrix(bench, base)
        if args.status:
            print(matrix.status_table())
            return
        if not args.report:
            init_distributed(base)
            prepare_toy_data(base)
            work(matrix)
        if get_rank() == 0:
            if all(item.done for item in matrix.runs) or args.report:
                # imported here: a long job takes the report code of its end
                from mmal.benchmark.report import write_report
                out = write_report(matrix, partial=args.partial)
                with open(osp.join(out, 'table.txt')) as f:
                    print('\n[mmal benchmark] per cycle, mean over seeds; '
                          f'Δ: paired difference against '
                          f'{bench.reference}:\n{f.read()}'
                          f'report.md, curves.png, CSVs: {out}/')
            else:
                print('[mmal benchmark] runs left to other jobs:\n' +
                      matrix.status_table())
    if not args.status and not args.report:
        finish_distributed()


if __name__ == '__main__':
    main()
