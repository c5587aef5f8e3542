from mmengine.optim.scheduler import MultiStepLR

from mmal.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class FractionalMultiStepLR(MultiStepLR):
    """``MultiStepLR`` whose milestones may fall inside an epoch.

    Detectron's "1x" schedule, which the ENMS paper uses, drops the learning
    rate after 2/3 and 8/9 of training. Over 12 epochs the second drop is at
    epoch 10.67, which mmengine's ``MultiStepLR`` cannot express: it compares
    the step counter with the milestones exactly. With
    ``convert_to_iter_based=True`` this scheduler rounds each milestone to the
    nearest iteration, so ``milestones=[8, 32 / 3]`` works for any dataset
    size (an active-learning labeled set grows every cycle). Without the
    conversion, milestones are rounded to whole epochs.

    Args:
        optimizer: Wrapped optimizer.
        milestones (list[float]): Steps (epochs, or iterations after the
            conversion) at which the learning rate is multiplied by
            ``gamma``.
        **kwargs: Other arguments of ``MultiStepLR``.
    """

    def __init__(self, optimizer, milestones, **kwargs):
        super().__init__(
            optimizer, milestones=[round(m) for m in milestones], **kwargs)
