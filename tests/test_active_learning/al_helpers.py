"""Shared helpers of the active-learning tests: a tiny loop config on the
toy data, and running the real command-line driver."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PY = sys.executable


def write_config(path,
                 data_root,
                 base='least-confidence/faster-rcnn_r18_'
                 'fpn_least-confidence_toy.py',
                 num_train=40,
                 epochs=2,
                 al=None,
                 extra=''):
    """A toy loop config: ``num_train`` pool images, 8 val images, batch 4,
    ``epochs`` per cycle, every detection kept (young models score low);
    ``al`` updates the loop settings (2 cycles, 10 images, +10)."""
    al = dict(
        dict(num_cycles=2, initial=dict(size=10), budget=10), **(al or {}))
    root = str(data_root).rstrip('/') + '/'
    text = f'''
    _base_ = {osp.join(REPO, 'configs', base)!r}
    data_root = {root!r}
    toy_data = dict(num_train={num_train}, num_val=8, seed=0)
    train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
    val_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
    test_dataloader = val_dataloader
    val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
    test_evaluator = val_evaluator
    train_cfg = dict(max_epochs={epochs}, val_interval={epochs})
    param_scheduler = [
        dict(type='FractionalMultiStepLR', by_epoch=True, begin=0,
             end={epochs}, milestones=[{epochs} * 2 / 3], gamma=0.1,
             convert_to_iter_based=True)
    ]
    model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))
    log_level = 'WARNING'
    '''
    with open(path, 'w') as f:
        f.write(
            textwrap.dedent(text) + f'al = {al!r}\n' + textwrap.dedent(extra))
    return str(path)


def env():
    e = dict(os.environ)
    e['PYTHONPATH'] = REPO + os.pathsep + e.get('PYTHONPATH', '')
    e['OMP_NUM_THREADS'] = e.get('OMP_NUM_THREADS', '2')
    return e


def al_train(config, work_dir, *args, check=True):
    """Run tools/al_train.py; returns the CompletedProcess."""
    proc = subprocess.run([
        PY,
        osp.join(REPO, 'tools', 'al_train.py'),
        str(config), '--work-dir',
        str(work_dir), *args
    ],
                          env=env(),
                          capture_output=True,
                          text=True,
                          cwd=REPO)
    if check and proc.returncode != 0:
        raise AssertionError(f'al_train.py failed ({proc.returncode}):\n'
                             f'{proc.stderr[-4000:]}')
    return proc


def start_al_train(config, work_dir, *args):
    """Start tools/al_train.py in its own process group."""
    return subprocess.Popen([
        PY,
        osp.join(REPO, 'tools', 'al_train.py'),
        str(config), '--work-dir',
        str(work_dir), *args
    ],
                            env=env(),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            cwd=REPO,
                            start_new_session=True)
