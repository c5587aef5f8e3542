"""Every shipped config parses and builds its detector (no weights loaded);
every `al` section parses, builds its strategy and runs its protocol."""
import copy
import functools
import glob
import inspect
import os.path as osp
import re
import tempfile

import pytest
import torch
from mmengine.config import Config

from mmal.registry import DATASETS, MODELS, PARAM_SCHEDULERS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Benchmark configs (configs/benchmarks/) name a base config, strategies and
# seeds; tests/test_benchmark/test_benchmark_configs.py checks them.
CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p
    and not osp.relpath(p, REPO).startswith('configs/benchmarks/'))
# Every config file, the _base_ fragments included.
CONFIG_FILES = sorted(
    osp.relpath(p, REPO) for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if not osp.relpath(p, REPO).startswith('configs/benchmarks/'))
BASE_FRAGMENTS = [c for c in CONFIG_FILES if c not in CONFIGS]


def test_configs_found():
    assert {
        'configs/toy/faster-rcnn_r18_fpn_toy.py',
        'configs/faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
        'configs/retinanet/retinanet_r50_fpn_enms-1x_coco.py',
        'configs/ssd/ssd300_vgg16_ll4al_voc0712.py'
    } <= set(CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_its_detector(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.default_scope == 'mmal'
    model = MODELS.build(cfg.model)  # init_weights() is never called
    head = getattr(model, 'bbox_head', None) or model.roi_head.bbox_head
    dataset = cfg.train_dataloader.dataset
    classes = dataset.get('metainfo', {}).get('classes')
    if classes is None:  # mmdet's dataset class carries them
        classes = DATASETS.get(dataset.type).METAINFO['classes']
    # multi-stage heads (Sparse R-CNN, Cascade R-CNN): every stage's
    stages = head if isinstance(head, torch.nn.ModuleList) else [head]
    assert [h.num_classes for h in stages] == [len(classes)] * len(stages)
    if 'ssd' in config:  # mmdet 3.3's own SSDHead cannot predict
        from mmal.models import SSDHeadCompat
        assert isinstance(head, SSDHeadCompat)
    for scheduler in cfg.param_scheduler:
        assert PARAM_SCHEDULERS.get(scheduler['type']) is not None


@pytest.mark.parametrize('config', [
    'configs/faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    'configs/retinanet/retinanet_r50_fpn_enms-1x_coco.py'
])
def test_enms_paper_schedule(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.train_dataloader.batch_size * 8 == 16
    step = cfg.param_scheduler[-1]
    assert step.type == 'FractionalMultiStepLR'
    assert step.milestones == pytest.approx([8, 12 * 8 / 9])


# -- mmdet-style structure: bases, no restated values, READMEs --------------
@pytest.mark.parametrize('fragment', BASE_FRAGMENTS)
def test_base_fragment_parses(fragment):
    Config.fromfile(osp.join(REPO, fragment))


def _bases_of(path):
    """(the file's own top-level values, with `{{_base_.x}}` references as
    placeholders; its bases as absolute paths or `mmdet::` names), or None
    for a file without bases."""
    with open(path) as f:
        text = f.read()
    if not re.search(r'^_base_\s*=', text, re.M):
        return None
    text = re.sub(r'\{\{\s*_base_\.[\w.]+\s*\}\}', "'<base reference>'", text)
    own = {}
    exec(compile(text, path, 'exec'), own)
    bases = own.pop('_base_')
    bases = [bases] if isinstance(bases, str) else bases
    bases = [
        b if '::' in b else osp.normpath(osp.join(osp.dirname(path), b))
        for b in bases
    ]
    own = {k: v for k, v in own.items() if not k.startswith('__')}
    return own, bases


def _as_lists(value):
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    return value


def _restated(own, inherited, prefix=''):
    """Keys of `own` whose values `inherited` already has."""
    found = []
    for key, value in own.items():
        if key == '_delete_' or not isinstance(inherited, dict) \
                or key not in inherited:
            continue
        base = inherited[key]
        if isinstance(value, dict) and isinstance(base, dict):
            if value.get('_delete_'):  # replaced whole: not a restatement
                continue
            found += _restated(value, base, f'{prefix}{key}.')
        elif _as_lists(value) == _as_lists(base):
            found.append(prefix + str(key))
    return found


def test_restated_finds_planted_values():
    own = dict(
        a=1, b=dict(c=2, d=3), e=dict(_delete_=True, f=1), g=(1, 2), new=0)
    inherited = dict(a=1, b=dict(c=2, d=4), e=dict(f=1), g=[1, 2])
    assert sorted(_restated(own, inherited)) == ['a', 'b.c', 'g']


# Values a config may write although its bases have them. A pure-Python
# config cannot read a base's variable, so the SSD config names data_root
# itself for the datasets it replaces whole.
RESTATED_ALLOWED = {'configs/ssd/ssd300_vgg16_ll4al_voc0712.py': {'data_root'}}


@functools.lru_cache(maxsize=None)
def _inherited(bases):
    """The merged dict of the given bases (many configs share theirs)."""
    with tempfile.TemporaryDirectory() as tmp:
        only_bases = osp.join(tmp, 'bases.py')
        with open(only_bases, 'w') as f:
            f.write(f'_base_ = {list(bases)!r}\n')
        return Config.fromfile(only_bases).to_dict()


@pytest.mark.parametrize(
    'config',
    [c for c in CONFIG_FILES if _bases_of(osp.join(REPO, c)) is not None])
def test_no_config_restates_its_bases(config):
    own, bases = _bases_of(osp.join(REPO, config))
    restated = set(_restated(own, _inherited(tuple(bases)))) - \
        RESTATED_ALLOWED.get(config, set())
    assert not restated, (f'{config} sets values its bases already have: '
                          f'{sorted(restated)}')


def test_protocol_bases_leave_the_strategy_to_the_configs():
    # Each strategy config names its strategy once; the BiB base alone
    # carries one (BiB, written out, which its variants replace).
    for name in ('toy_loop', 'enms_coco', 'll4al_voc'):
        al = Config.fromfile(
            osp.join(REPO, 'configs/_base_/al', name + '.py')).al
        assert 'strategy' not in al, name
    assert Config.fromfile(osp.join(
        REPO, 'configs/_base_/al/bib.py')).al.strategy.type == 'bib'


def test_mist_configs_take_their_data_from_the_dataset_bases():
    voc = _load('configs/mist/mist_vgg16_cdb_voc07.py')
    coco = _load('configs/mist/mist_vgg16_coco14.py')
    toy = _load('configs/mist/mist_vgg16-tiny_toy.py')
    # VOC07 and COCO14 share wetectron's pipelines (one definition).
    for key in ('train_pipeline', 'test_pipeline', 'tta_pipeline'):
        assert voc[key] == coco[key]
    for cfg in (voc, coco, toy):
        assert cfg.train_dataloader.dataset.type == 'WeakCocoDataset'
        assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
        for loader in ('val_dataloader', 'test_dataloader'):
            assert cfg[loader].dataset.pipeline == cfg.test_pipeline
        assert cfg.train_dataloader.dataset.proposal_file.endswith('.npz')
    assert voc.train_dataloader.dataset.metainfo.classes == voc.classes
    assert 'metainfo' not in coco.train_dataloader.dataset  # COCO's classes
    assert coco.train_dataloader.dataset.ann_file.endswith('train2014.json')
    assert coco.val_evaluator.type == 'CocoMetric'
    assert toy.toy_data.num_train == 400 and 'toy_proposals' in toy


def test_every_config_folder_has_a_readme():
    folders = {osp.dirname(c) for c in CONFIGS} - {'configs'}
    missing = sorted(
        f for f in folders if not osp.isfile(osp.join(REPO, f, 'README.md')))
    assert not missing, f'config folders without a README.md: {missing}'


# -- the `al` sections ------------------------------------------------------
# Pool sizes of the shipped protocols: COCO train2017 and VOC07+12 trainval
# (the toy pool size comes from the config's toy_data).
COCO_TRAIN2017_IMAGES = 118287
VOC0712_TRAINVAL_IMAGES = 16551
# The BiB protocols' pools: VOC07 trainval and COCO train2014.
VOC07_TRAINVAL_IMAGES = 5011
COCO_TRAIN2014_IMAGES = 82783
PAPER_CONFIG = 'configs/enms_divproto_coco.py'
# Table 1 of the ENMS paper, Faster R-CNN on COCO: config, strategy type,
# use_enms, use_divproto.
TABLE1_ROWS = [
    ('configs/entropy/faster-rcnn_r50_fpn_entropy_coco.py', 'Entropy', False,
     False),
    ('configs/enms-divproto/faster-rcnn_r50_fpn_enms_coco.py', 'ENMS', True,
     False),
    ('configs/enms-divproto/faster-rcnn_r50_fpn_divproto_coco.py', 'DivProto',
     False, True),
    (PAPER_CONFIG, 'ENMSDivProto', True, True),
]
VOC_CONFIGS = [
    'configs/enms-divproto/ssd300_vgg16_enms-divproto_voc0712.py',
    'configs/random/ssd300_vgg16_u-random_voc0712.py',
    'configs/entropy/ssd300_vgg16_entropy_voc0712.py',
    'configs/cdal/ssd300_vgg16_cdal-cs_voc0712.py',
]
TOY_STRATEGIES = {
    'configs/enms-divproto/faster-rcnn_r18_fpn_enms-divproto_toy.py':
    'ENMSDivProto',
    'configs/enms-divproto/retinanet_r18_fpn_enms-divproto_toy.py':
    'ENMSDivProto',
    'configs/enms-divproto/ssd_r18_enms-divproto_toy.py': 'ENMSDivProto',
    'configs/entropy/faster-rcnn_r18_fpn_entropy_toy.py': 'Entropy',
    'configs/entropy/retinanet_r18_fpn_entropy_toy.py': 'Entropy',
    'configs/entropy/ssd_r18_entropy_toy.py': 'Entropy',
    'configs/random/faster-rcnn_r18_fpn_u-random_toy.py': 'u-random',
    'configs/random/retinanet_r18_fpn_u-random_toy.py': 'u-random',
    'configs/random/ssd_r18_u-random_toy.py': 'u-random',
    'configs/entropy/faster-rcnn_r18_fpn_entropy-max_toy.py': 'entropy-max',
    'configs/entropy/faster-rcnn_r18_fpn_entropy-sum_toy.py': 'entropy-sum',
    'configs/core-set/faster-rcnn_r18_fpn_core-set_toy.py': 'core-set',
    'configs/core-set/faster-rcnn_r18_fpn_core-set-ent_toy.py': 'core-set-ent',
    'configs/cdal/faster-rcnn_r18_fpn_cdal-cs_toy.py': 'cdal-cs',
    'configs/mc-dropout/faster-rcnn_r18_fpn_mc-dropout_toy.py': 'mc-dropout',
    'configs/cald/faster-rcnn_r18_fpn_cald_toy.py': 'cald',
}


def _toys(detector):
    return {
        c
        for c in TOY_STRATEGIES if osp.basename(c).startswith(detector + '_')
    }


# Configs that must run the same experiment but for al.strategy.
SAME_PROTOCOL = {
    'faster-rcnn_r50_fpn_coco': {
        PAPER_CONFIG, 'configs/random/faster-rcnn_r50_fpn_u-random_coco.py',
        'configs/cdal/faster-rcnn_r50_fpn_cdal-cs_coco.py',
        'configs/mc-dropout/faster-rcnn_r50_fpn_mc-dropout_coco.py',
        *(row[0] for row in TABLE1_ROWS)
    },
    'retinanet_r50_fpn_coco': {
        'configs/enms-divproto/retinanet_r50_fpn_enms-divproto_coco.py',
        'configs/random/retinanet_r50_fpn_u-random_coco.py',
        'configs/entropy/retinanet_r50_fpn_entropy_coco.py'
    },
    'ssd300_vgg16_voc0712': set(VOC_CONFIGS),
    'faster-rcnn_r18_fpn_toy': _toys('faster-rcnn_r18_fpn') | {
        'configs/random/faster-rcnn_r18_fpn_b-random_toy.py',
        'configs/least-confidence/faster-rcnn_r18_fpn_least-confidence_toy.py'
    },
    'retinanet_r18_fpn_toy': _toys('retinanet_r18_fpn'),
    'ssd_r18_toy': _toys('ssd_r18'),
}
# The BiB paper's strategies (BiB, Table 8 variants, supplement baselines).
BIB_STRATEGIES = ('bib', 'u-bib', 'u-plus-bib', 'loss', 'u-random', 'b-random',
                  'entropy-max', 'entropy-sum', 'core-set', 'core-set-ent')
BIB_PROTOCOLS = {
    'mist_vgg16_voc07': 'configs/bib/mist_vgg16_{}_voc07.py',
    'mist_vgg16_coco14': 'configs/bib/mist_vgg16_{}_coco14.py',
    'mist_vgg16-tiny_toy': 'configs/bib/mist_vgg16-tiny_{}_toy.py',
}
for _name, _pattern in BIB_PROTOCOLS.items():
    SAME_PROTOCOL[_name] = {_pattern.format(s) for s in BIB_STRATEGIES}


@functools.lru_cache(maxsize=None)
def _load_cached(config):
    return Config.fromfile(osp.join(REPO, config))


def _load(config):
    """The parsed config, a fresh copy per call: mmdet's builders write into
    the model dict they are given."""
    return copy.deepcopy(_load_cached(config))


def _has_al(config):
    try:
        return _load(config).get('al') is not None
    except Exception:  # reported by the tests of the config
        return True


AL_CONFIGS = [c for c in CONFIGS if _has_al(c)]


def _pool_size(cfg):
    """The number of images of the pool the config's train set names."""
    dataset = cfg.train_dataloader.dataset
    ann_file = dataset.ann_file
    if 'toy_data' in cfg:
        return cfg.toy_data.num_train
    if ann_file.endswith('instances_train2017.json'):
        return COCO_TRAIN2017_IMAGES
    if ann_file.endswith('voc0712_trainval.json'):
        return VOC0712_TRAINVAL_IMAGES
    if ann_file.endswith('voc07_trainval.json'):
        return VOC07_TRAINVAL_IMAGES
    if ann_file.endswith('instances_train2014.json'):
        return COCO_TRAIN2014_IMAGES
    raise AssertionError(f'unknown pool {ann_file!r}: add its size here')


def _labeled_per_cycle(settings, pool):
    initial = settings.initial_images(pool)
    budget = settings.budget_images(pool)
    return [initial + k * budget for k in range(settings.num_cycles)]


def _group(config):
    """The protocol a config runs: its name without the strategy."""
    if config == PAPER_CONFIG:
        return 'faster-rcnn_r50_fpn_coco'
    parts = osp.splitext(osp.basename(config))[0].split('_')
    return '_'.join(parts[:-2] + parts[-1:])


def test_al_configs_found():
    expected = set(TOY_STRATEGIES) | set(VOC_CONFIGS) | {
        row[0]
        for row in TABLE1_ROWS
    }
    for configs in SAME_PROTOCOL.values():
        expected |= configs
    missing = expected - set(AL_CONFIGS)
    assert not missing, f'configs without an al section: {sorted(missing)}'
    # Detector-only configs have no al section.
    assert 'configs/toy/faster-rcnn_r18_fpn_toy.py' not in AL_CONFIGS
    assert 'configs/ssd/ssd300_vgg16_ll4al_voc0712.py' not in AL_CONFIGS


@pytest.mark.parametrize('config', AL_CONFIGS)
def test_al_section_parses_and_its_strategy_builds(config):
    from mmal.active_learning import ALSettings
    from mmal.models.probes import PREDICTION_FIELDS, build_probe
    from mmal.registry import ORACLES, STRATEGIES
    from mmal.strategies import MODEL_FIELDS, build_strategy
    from mmal.utils.setup_env import register_all_modules
    register_all_modules()
    cfg = _load(config)
    settings = ALSettings.from_cfg(cfg)
    strategy = build_strategy(settings.strategy)
    assert isinstance(strategy, STRATEGIES.get(settings.strategy['type']))
    assert ORACLES.get(settings.oracle['type']) is not None
    if config in TOY_STRATEGIES:
        assert settings.strategy['type'] == TOY_STRATEGIES[config]
    # The protocol fits its pool: every acquisition can be paid.
    pool = _pool_size(cfg)
    settings.check_sizes(pool, settings.initial_images(pool))
    # The detector provides what the strategy needs (the loop checks this
    # before training too).
    probe_fields = (set(strategy.requires)
                    & set(MODEL_FIELDS)) - set(PREDICTION_FIELDS)
    if probe_fields:
        build_probe(
            MODELS.build(cfg.model),
            sorted(probe_fields),
            passes=strategy.extra_passes)


def test_paper_config_has_the_paper_protocol():
    from mmal.active_learning import ALSettings
    from mmal.strategies import ENMSDivProto, build_strategy
    cfg = _load(PAPER_CONFIG)
    settings = ALSettings.from_cfg(cfg)
    assert settings.num_cycles == 5
    assert settings.seed == 0
    assert settings.initial == dict(size=0.2)
    assert settings.budget == 0.05
    assert settings.train_mode == 'scratch'
    assert settings.schedule == dict(type='epochs')
    assert settings.oracle['type'] == 'GroundTruthOracle'
    assert settings.pool_subsample is None
    assert not settings.acquire_after_last
    # 20, 25, 30, 35, 40 % of train2017
    labeled = _labeled_per_cycle(settings, COCO_TRAIN2017_IMAGES)
    assert [round(100 * n / COCO_TRAIN2017_IMAGES)
            for n in labeled] == [20, 25, 30, 35, 40]

    strategy_cfg = dict(settings.strategy)
    assert strategy_cfg.pop('type') == 'ENMSDivProto'
    assert strategy_cfg == dict(
        use_enms=True,
        use_divproto=True,
        t_enms=0.5,
        t_intra=0.7,
        t_inter=0.3,
        alpha=0.5,
        beta=0.75,
        intra=True,
        inter=True,
        min_score=0.0,
        max_dets=None,
        proto_from='all',
        fill_up='sorted')
    # Every default of the strategy is written out, with its default value.
    defaults = {
        name: p.default
        for name, p in inspect.signature(
            ENMSDivProto.__init__).parameters.items() if name != 'self'
    }
    assert strategy_cfg == defaults
    strategy = build_strategy(settings.strategy)
    assert type(strategy) is ENMSDivProto
    assert (strategy.t_enms, strategy.t_intra, strategy.t_inter,
            strategy.alpha, strategy.beta) == (0.5, 0.7, 0.3, 0.5, 0.75)

    # Faster R-CNN R50-FPN, 80 COCO classes
    assert cfg.model.type == 'FasterRCNN'
    assert cfg.model.backbone.depth == 50
    assert cfg.model.neck.type == 'FPN'
    assert cfg.model.roi_head.bbox_head.num_classes == 80
    # 12 epochs, batch 16 = 2 per GPU x 8, lr 0.02 x0.1 at 2/3 and 8/9
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.batch_size * 8 == 16
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    step = cfg.param_scheduler[-1]
    assert step.type == 'FractionalMultiStepLR'
    assert step.gamma == 0.1
    assert step.milestones == pytest.approx([12 * 2 / 3, 12 * 8 / 9])
    # COCO train2017
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'CocoDataset'
    assert dataset.ann_file == 'annotations/instances_train2017.json'
    assert dataset.data_prefix.img == 'train2017/'
    assert _pool_size(cfg) == COCO_TRAIN2017_IMAGES


@pytest.mark.parametrize('config,type_,use_enms,use_divproto', TABLE1_ROWS)
def test_table1_rows(config, type_, use_enms, use_divproto):
    from mmal.active_learning import ALSettings
    from mmal.strategies import ENMSDivProto, build_strategy
    strategy = build_strategy(ALSettings.from_cfg(_load(config)).strategy)
    assert strategy._cfg['type'] == type_
    assert isinstance(strategy, ENMSDivProto)
    assert strategy.use_enms is use_enms
    assert strategy.use_divproto is use_divproto
    # The other hyper-parameters are the paper's.
    assert (strategy.t_enms, strategy.t_intra, strategy.t_inter,
            strategy.alpha, strategy.beta) == (0.5, 0.7, 0.3, 0.5, 0.75)
    assert (strategy.intra, strategy.inter, strategy.min_score,
            strategy.max_dets, strategy.proto_from,
            strategy.fill_up) == (True, True, 0.0, None, 'all', 'sorted')


@pytest.mark.parametrize('config', VOC_CONFIGS)
def test_voc_configs_have_the_ll4al_protocol(config):
    from mmal.active_learning import ALSettings
    cfg = _load(config)
    settings = ALSettings.from_cfg(cfg)
    assert settings.initial == dict(size=1000)
    assert settings.budget == 1000
    assert settings.num_cycles == 10
    assert settings.seed == 0
    assert settings.train_mode == 'scratch'
    assert settings.oracle['type'] == 'GroundTruthOracle'
    assert settings.pool_subsample is None
    assert _labeled_per_cycle(settings, VOC0712_TRAINVAL_IMAGES) == list(
        range(1000, 10001, 1000))
    assert cfg.train_dataloader.dataset.ann_file == (
        'annotations/voc0712_trainval.json')
    assert cfg.model.bbox_head.num_classes == 20


@pytest.mark.parametrize('group,budget,iters,pool', [
    ('mist_vgg16_voc07', 50, 300, VOC07_TRAINVAL_IMAGES),
    ('mist_vgg16_coco14', 160, 1200, COCO_TRAIN2014_IMAGES),
])
def test_bib_configs_have_the_bib_protocol(group, budget, iters, pool):
    from mmal.active_learning import ALSettings
    from mmal.strategies import build_strategy
    for strategy in BIB_STRATEGIES:
        config = BIB_PROTOCOLS[group].format(strategy)
        cfg = _load(config)
        settings = ALSettings.from_cfg(cfg)
        assert settings.strategy['type'] == strategy
        if strategy in ('bib', 'u-bib', 'u-plus-bib'):
            # the official launch scripts: 0.5 in the first COCO cycle
            built = build_strategy(settings.strategy)
            assert [built.threshold(c) for c in range(5)
                    ] == ([0.1] * 5 if 'voc07' in group else [0.5] + [0.1] * 4)
        # cycle 0: the weak base model; 5 cycles of B images, each
        # fine-tuned from the base model for `iters` x cycle iterations
        assert settings.num_cycles == 6
        assert settings.starts_from_model
        assert settings.train_mode == 'finetune_from'
        assert settings.finetune_from.endswith('.pth')
        assert settings.budget == budget
        assert _labeled_per_cycle(settings,
                                  pool) == [budget * c for c in range(6)]
        sched = settings.schedule
        assert sched['type'] == 'iters_per_image'
        assert [sched['iters_per_image'] * budget * c
                for c in range(1, 6)] == [iters * c for c in range(1, 6)]
        assert sched['warmup_iters'] == 50
        assert settings.test_tta and cfg.get('tta_model')
        assert cfg.effective_batch_size == 8
        optim = cfg.optim_wrapper
        if 'voc07' in group:
            assert optim.detector.optimizer.lr == 4e-4
            assert optim.cdb.optimizer.lr == 4e-6
            assert cfg.val_evaluator.type == 'VOCMetric'
        else:
            assert optim.optimizer.lr == 4e-4
        assert cfg.model.type == 'MIST'
        assert cfg.train_dataloader.dataset.type == 'WeakCocoDataset'
        assert cfg.train_dataloader.sampler.strong_ratio == 0.5


@pytest.mark.parametrize('group', sorted(SAME_PROTOCOL))
def test_strategies_of_a_protocol_differ_only_in_the_strategy(group):
    configs = sorted(SAME_PROTOCOL[group])
    assert {_group(c) for c in configs} == {group}
    assert len(configs) >= 3

    def without_strategy(config):
        cfg = _load(config).to_dict()
        strategy = cfg['al'].pop('strategy')
        return cfg, strategy['type']

    reference, _ = without_strategy(configs[0])
    types = []
    for config in configs:
        cfg, type_ = without_strategy(config)
        types.append(type_)
        changed = sorted(
            k for k in set(cfg) | set(reference)
            if cfg.get(k) != reference.get(k))
        assert not changed, f'{config} differs from {configs[0]} in {changed}'
    assert len(set(types)) == len(types), types


@pytest.mark.parametrize('config,cdb', [
    ('configs/mist/mist_vgg16_cdb_voc07.py', True),
    ('configs/mist/mist_vgg16_coco14.py', False),
])
def test_mist_configs_follow_wetectron(config, cdb):
    from mmal.utils.config import apply_effective_batch
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.effective_batch_size == 8
    assert cfg.model.type == 'MIST'
    assert cfg.model.backbone.type == 'WSODVGG16'
    head = cfg.model.roi_head
    assert head.bbox_head.num_refine == 3
    assert head.bbox_roi_extractor.featmap_strides == [8]
    assert ('cdb' in head and head.cdb is not None) == cdb
    assert cfg.model.train_cfg.rcnn.refine_loss_weights == (3.0, 1.0, 1.0)
    assert cfg.model.test_cfg.rcnn.nms.iou_threshold == 0.3
    assert cfg.model.test_cfg.rcnn.max_per_img == 100
    optim = cfg.optim_wrapper.get('detector', cfg.optim_wrapper).optimizer
    assert optim.type == 'SGD' and optim.lr == 0.01
    if 'voc07' in config:
        assert cfg.train_cfg.max_iters == 30000
    broadcaster = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] == 'ProposalBroadcaster'
    ][0]
    resize, flip = broadcaster.transforms
    assert sorted(s[1]
                  for s in resize.scales) == [480, 576, 688, 864, 1000, 1200]
    assert flip.prob == 0.5
    assert cfg.train_dataloader.sampler.type == 'MixedSupervisionSampler'
    assert cfg.train_dataloader.dataset.proposal_file.endswith('.npz')
    # 8 GPUs x 1 image: no accumulation; 1 GPU: 8 micro-batches per step.
    for world, acc in ((8, 1), (1, 8)):
        scaled = apply_effective_batch(
            Config.fromfile(osp.join(REPO, config)), world_size=world)
        wrapper = scaled.optim_wrapper.get('detector', scaled.optim_wrapper)
        assert wrapper.accumulative_counts == acc
        assert scaled.train_cfg.max_iters == cfg.train_cfg.max_iters * acc
