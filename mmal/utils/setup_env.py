import datetime
import warnings

from mmengine import DefaultScope

from .checkpoint import register_safe_checkpoint_loaders


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register mmdet's and mmal's modules and make checkpoints load safely.

    Imports every mmal package that registers modules (mmdet's as well, as
    ``mmdet.utils.register_all_modules`` would), installs the safe checkpoint
    loader
    (:func:`mmal.utils.checkpoint.register_safe_checkpoint_loaders`) and,
    by default, makes ``'mmal'`` the default registry scope.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``'mmal'``. Defaults to True.
    """
    from mmdet.utils import register_all_modules as register_mmdet_modules
    register_mmdet_modules(init_default_scope=False)

    import mmal.active_learning.oracles  # noqa: F401,F403
    import mmal.datasets  # noqa: F401,F403
    import mmal.engine  # noqa: F401,F403
    import mmal.models  # noqa: F401,F403
    import mmal.strategies  # noqa: F401,F403

    register_safe_checkpoint_loaders()

    if init_default_scope:
        current = DefaultScope.get_current_instance()
        if current is None or not DefaultScope.check_instance_created('mmal'):
            DefaultScope.get_instance('mmal', scope_name='mmal')
            return
        if current.scope_name != 'mmal':
            warnings.warn(f'The current default scope "{current.scope_name}" '
                          'is not "mmal"; register_all_modules switches it '
                          'to "mmal". Pass init_default_scope=False to keep '
                          'it.')
            DefaultScope.get_instance(
                f'mmal-{datetime.datetime.now()}', scope_name='mmal')
