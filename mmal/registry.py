"""mmal's registry scope.

Every registry below is a child of the matching mmdet registry, so a config
with ``default_scope = 'mmal'`` finds mmal's own modules first and falls back
to mmdet's (and from there to mmengine's) for everything else. ``STRATEGIES``
is new: it holds the acquisition strategies, built from their
hyper-parameters with ``STRATEGIES.build(dict(type=..., **kwargs))``.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNER_CONSTRUCTORS as MMDET_RUNNER_CONSTRUCTORS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

_SCOPE = 'mmal'
# ``locations`` name the packages that register into each registry; a
# registry gains its location when mmal first adds modules of that kind.

RUNNERS = Registry(
    'runner', parent=MMDET_RUNNERS, scope=_SCOPE, locations=['mmal.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor',
    parent=MMDET_RUNNER_CONSTRUCTORS,
    scope=_SCOPE,
    locations=['mmal.engine'])
LOOPS = Registry(
    'loop', parent=MMDET_LOOPS, scope=_SCOPE, locations=['mmal.engine'])
HOOKS = Registry(
    'hook', parent=MMDET_HOOKS, scope=_SCOPE, locations=['mmal.engine'])
DATASETS = Registry(
    'dataset',
    parent=MMDET_DATASETS,
    scope=_SCOPE,
    locations=['mmal.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMDET_DATA_SAMPLERS,
    scope=_SCOPE,
    locations=['mmal.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMDET_TRANSFORMS,
    scope=_SCOPE,
    locations=['mmal.datasets'])
MODELS = Registry(
    'model', parent=MMDET_MODELS, scope=_SCOPE, locations=['mmal.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMDET_MODEL_WRAPPERS, scope=_SCOPE)
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMDET_WEIGHT_INITIALIZERS, scope=_SCOPE)
OPTIMIZERS = Registry(
    'optimizer',
    parent=MMDET_OPTIMIZERS,
    scope=_SCOPE,
    locations=['mmal.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMDET_OPTIM_WRAPPERS,
    scope=_SCOPE,
    locations=['mmal.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
    scope=_SCOPE,
    locations=['mmal.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMDET_PARAM_SCHEDULERS,
    scope=_SCOPE,
    locations=['mmal.engine'])
METRICS = Registry('metric', parent=MMDET_METRICS, scope=_SCOPE)
EVALUATOR = Registry('evaluator', parent=MMDET_EVALUATOR, scope=_SCOPE)
TASK_UTILS = Registry('task util', parent=MMDET_TASK_UTILS, scope=_SCOPE)
VISUALIZERS = Registry('visualizer', parent=MMDET_VISUALIZERS, scope=_SCOPE)
VISBACKENDS = Registry('vis_backend', parent=MMDET_VISBACKENDS, scope=_SCOPE)
LOG_PROCESSORS = Registry(
    'log_processor',
    parent=MMDET_LOG_PROCESSORS,
    scope=_SCOPE,
    locations=['mmal.engine'])

# Acquisition strategies (``mmal.strategies.BaseStrategy``). A strategy is
# built from its hyper-parameters only (``dict(type='u-random')``); the
# acquisition runner calls ``summarize`` per image and ``select`` once per
# cycle, and never branches on the strategy's type.
STRATEGIES = Registry('strategy', scope=_SCOPE, locations=['mmal.strategies'])
# Oracles (``mmal.active_learning.oracles.BaseOracle``): who labels the
# selected images. ``reveal(ids, request_dir)`` returns their annotations or
# raises ``AnnotationRequired`` after asking a person for them.
ORACLES = Registry(
    'oracle', scope=_SCOPE, locations=['mmal.active_learning.oracles'])
# Annotation tool formats (``mmal.active_learning.annotation_formats``):
# ``al.oracle.export`` of a ``ManualOracle`` names one; ``export(request)``
# writes the tool's import files, ``parse(data, path)`` reads its export.
ANNOTATION_FORMATS = Registry(
    'annotation format',
    scope=_SCOPE,
    locations=['mmal.active_learning.annotation_formats'])
# Training schedules of the cycles (``al.schedule``,
# ``mmal.active_learning.schedules.BaseSchedule``): built from
# ``dict(type=..., **settings)`` when the config is read;
# ``apply(cfg, num_labeled)`` writes a cycle's train_cfg and LR schedule.
AL_SCHEDULES = Registry(
    'al schedule', scope=_SCOPE, locations=['mmal.active_learning.schedules'])
# Probe adapters (``mmal.models.probes.BaseProbe``), one per detector head
# family. ``mmal.models.probes.build_probe(model, fields)`` asks each
# registered adapter, highest ``priority`` first, whether it ``supports``
# the model and which fields it ``provides``, and builds the first that
# fits as ``adapter(model, fields, score_tol=...)``; the acquisition runner
# enters it as a context manager and calls ``run(batch)`` per batch.
PROBES = Registry('probe', scope=_SCOPE, locations=['mmal.models.probes'])
# Split formats of other codebases (``mmal.active_learning.split_formats.
# BaseSplitFormat``): ``read(source)`` gives a run's per-cycle labeled sets
# and picks as file names, ``write(history, pool, out_dir)`` writes them the
# way that codebase does; built with ``build_split_format(dict(type=...))``.
SPLIT_FORMATS = Registry(
    'split format',
    scope=_SCOPE,
    locations=['mmal.active_learning.split_formats'])
# Extra forward passes of the pool pass (``mmal.models.probes.BaseExtraPass``:
# MC-dropout passes, augmented views), declared by a strategy as configs in
# ``extra_passes``; ``build_probe(model, fields, passes=...)`` builds them
# and matches their detections to the detector's own (``pass_*`` fields).
PROBE_PASSES = Registry(
    'probe pass', scope=_SCOPE, locations=['mmal.models.probes'])
