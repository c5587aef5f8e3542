import torch
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS

from mmal.engine import FractionalMultiStepLR
from mmal.registry import PARAM_SCHEDULERS


def _lrs(scheduler, optimizer, steps):
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return lrs


def test_milestones_at_two_thirds_and_eight_ninths_of_iterations():
    # 12 epochs of 9 iterations: drops at iterations 72 (8 epochs) and
    # 96 (10.67 epochs), which plain MultiStepLR cannot place.
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.02)
    scheduler = FractionalMultiStepLR.build_iter_from_epoch(
        optimizer,
        milestones=[12 * 2 / 3, 12 * 8 / 9],
        gamma=0.1,
        begin=0,
        end=12,
        epoch_length=9)
    lrs = _lrs(scheduler, optimizer, 108)
    assert lrs[71] == 0.02 and abs(lrs[72] - 0.002) < 1e-12
    assert abs(lrs[95] - 0.002) < 1e-12 and abs(lrs[96] - 0.0002) < 1e-12
    assert abs(lrs[107] - 0.0002) < 1e-12


def test_registered_in_mmal_scope():
    assert PARAM_SCHEDULERS.get('FractionalMultiStepLR') is \
        FractionalMultiStepLR
    # mmdet's registry reaches it only through the mmal scope.
    assert MMDET_PARAM_SCHEDULERS.get('mmal.FractionalMultiStepLR') is \
        FractionalMultiStepLR
