"""Learning Loss's schedule: the loss-prediction module's gradient stops
flowing into the detector after a fraction of the training."""
from mmengine.hooks import Hook

from mmal.registry import HOOKS
from .train_state_hook import unwrap_model


@HOOKS.register_module()
class LearningLossHook(Hook):
    """Detach the loss-prediction module's input from the detector once
    ``stop_grad_at`` of the cycle's training iterations are done.

    The paper (Yoo and Kweon, CVPR 2019, Sec. 4) trains 200 epochs and
    stops the gradient from the module into the target model after epoch
    120: ``stop_grad_at = 120 / 200 = 0.6``. Counted in iterations
    (``runner.iter >= stop_grad_at * runner.max_iters``), so it holds for
    epoch- and iteration-based schedules alike.

    Args:
        stop_grad_at (float): Fraction of training after which the module
            trains on detached features. 1.0: never stop. Defaults to 0.6.
    """

    priority = 'NORMAL'

    def __init__(self, stop_grad_at: float = 0.6):
        if not 0.0 <= stop_grad_at <= 1.0:
            raise ValueError(
                f'stop_grad_at must be in [0, 1], got {stop_grad_at}')
        self.stop_grad_at = float(stop_grad_at)

    def before_train(self, runner) -> None:
        model = unwrap_model(runner)
        if not callable(getattr(model, 'stop_loss_gradient', None)):
            raise TypeError(
                f'LearningLossHook needs a model built with '
                f'type="LearningLossDetector", got {type(model).__name__}')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        unwrap_model(runner).stop_loss_gradient(
            runner.iter >= self.stop_grad_at * runner.max_iters)
