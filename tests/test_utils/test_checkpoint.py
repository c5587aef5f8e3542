import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint

from mmal.utils.checkpoint import (_EXTRA_SAFE_GLOBALS, UnsafeCheckpointError,
                                   add_safe_checkpoint_globals,
                                   check_checkpoint_safe, find_unsafe_globals,
                                   load_checkpoint_safely)


class _Payload:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _Custom:
    pass


def _model():
    return torch.nn.Linear(3, 2)


def _mmengine_like_checkpoint(path):
    model = _model()
    torch.save(
        dict(
            meta=dict(
                epoch=3,
                seed=np.int64(5),
                dataset_meta=dict(classes=('a', 'b'), palette=[(1, 2, 3)]),
                cfg=ConfigDict(a=1)),
            state_dict=model.state_dict(),
            message_hub=dict(
                log_scalars={'train/loss': HistoryBuffer([1.0, 0.5], [1, 1])},
                runtime_info=dict(
                    arr=np.arange(4, dtype=np.float32),
                    scalar=np.float64(0.25)))), path)
    return model


def _malicious(path, marker):
    model = _model()
    torch.save(
        dict(state_dict=model.state_dict(), meta=_Payload(marker)), path)


def test_loads_what_mmengine_and_mmdet_write(tmp_path):
    path = tmp_path / 'ok.pth'
    model = _mmengine_like_checkpoint(path)
    ckpt = load_checkpoint_safely(path, map_location='cpu')
    assert ckpt['meta']['epoch'] == 3
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == 0.75
    np.testing.assert_array_equal(ckpt['message_hub']['runtime_info']['arr'],
                                  np.arange(4))
    assert torch.equal(ckpt['state_dict']['weight'], model.weight)
    check_checkpoint_safe(path)  # no error
    assert find_unsafe_globals(path) == []


def test_refuses_a_malicious_checkpoint_without_running_it(tmp_path):
    path = tmp_path / 'evil.pth'
    marker = tmp_path / 'pwned'
    _malicious(path, marker)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_safely(path)
    message = str(info.value)
    assert str(path) in message
    assert 'system' in message  # names the offending global (posix.system)
    assert not marker.exists()
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        check_checkpoint_safe(path)
    assert not marker.exists()


def test_mmengine_load_checkpoint_goes_through_the_safe_loader(tmp_path):
    good, evil = tmp_path / 'good.pth', tmp_path / 'evil.pth'
    marker = tmp_path / 'pwned'
    source = _mmengine_like_checkpoint(good)
    _malicious(evil, marker)
    model = _model()
    load_checkpoint(model, str(good), map_location='cpu')
    assert torch.equal(model.weight, source.weight)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        load_checkpoint(model, str(evil), map_location='cpu')
    assert not marker.exists()


def test_runner_load_from_refuses_malicious_checkpoint(tmp_path, toy_root):
    from mmengine.config import Config
    from mmengine.runner import Runner
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(repo, 'configs/toy/retinanet_r18_fpn_toy.py'))
    cfg.work_dir = str(tmp_path / 'work')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = toy_root
    cfg.test_evaluator.ann_file = osp.join(toy_root, 'annotations',
                                           'instances_val.json')
    cfg.log_level = 'WARNING'
    evil, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    _malicious(evil, marker)
    cfg.load_from = str(evil)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        runner.test()
    assert not marker.exists()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safely(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        check_checkpoint_safe(tmp_path / 'nope.pth')


def test_extra_types_can_be_trusted_explicitly(tmp_path):
    path = tmp_path / 'custom.pth'
    torch.save(dict(state_dict={}, extra=_Custom()), path)
    with pytest.raises(UnsafeCheckpointError, match='_Custom'):
        load_checkpoint_safely(path)
    add_safe_checkpoint_globals(_Custom)
    try:
        assert isinstance(load_checkpoint_safely(path)['extra'], _Custom)
    finally:
        _EXTRA_SAFE_GLOBALS.remove(_Custom)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_safely(path)


def test_getattr_in_a_checkpoint_only_reaches_history_buffer_methods(tmp_path):

    class _GetattrPayload:

        def __reduce__(self):
            return (getattr, (np.ndarray, 'tofile'))

    path = tmp_path / 'getattr.pth'
    torch.save(dict(x=_GetattrPayload()), path)
    with pytest.raises(UnsafeCheckpointError, match='getattr.pth'):
        load_checkpoint_safely(path)
