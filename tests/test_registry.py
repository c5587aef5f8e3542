import pytest
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import DefaultScope, Registry

from mmal import registry


def test_every_mmal_registry_is_a_child_of_mmdets():
    import mmdet.registry as mmdet_registry
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'METRICS',
                 'PARAM_SCHEDULERS', 'LOOPS', 'TASK_UTILS'):
        ours = getattr(registry, name)
        assert ours.scope == 'mmal'
        assert ours.parent is getattr(mmdet_registry, name), name


def test_mmal_scope_resolves_mmdet_and_mmal_names():
    assert DefaultScope.get_current_instance().scope_name == 'mmal'
    # An mmdet model type resolves from the mmal scope through the parent.
    assert registry.MODELS.get('FasterRCNN') is MMDET_MODELS.get('FasterRCNN')
    # mmal's own scheduler is known in the mmal scope, not in mmdet's.
    from mmal.engine import FractionalMultiStepLR
    assert registry.PARAM_SCHEDULERS.get(
        'FractionalMultiStepLR') is FractionalMultiStepLR
    from mmdet.registry import PARAM_SCHEDULERS as MMDET_SCHEDULERS
    assert 'FractionalMultiStepLR' not in MMDET_SCHEDULERS.module_dict
    # Scoped names work both ways.
    assert registry.MODELS.get('mmdet.RetinaNet') is MMDET_MODELS.get(
        'RetinaNet')
    assert registry.PARAM_SCHEDULERS.get(
        'mmal.FractionalMultiStepLR') is FractionalMultiStepLR


def test_no_mmal_name_shadows_an_mmdet_name():
    import mmdet.registry as mmdet_registry
    for name in dir(registry):
        ours = getattr(registry, name)
        theirs = getattr(mmdet_registry, name, None)
        if theirs is None or not isinstance(ours, Registry):
            continue
        ours.import_from_location()
        clash = set(ours.module_dict) & set(theirs.module_dict)
        assert not clash, f'{name}: {sorted(clash)}'


def test_strategies_registry_is_mmals_own():
    assert registry.STRATEGIES.scope == 'mmal'
    assert registry.STRATEGIES.parent is None


def test_probes_registry_is_mmals_own_and_holds_the_adapters():
    assert registry.PROBES.scope == 'mmal'
    assert registry.PROBES.parent is None
    registry.PROBES.import_from_location()
    assert {
        'FieldProviderProbe', 'SSDProbe', 'AnchorHeadProbe',
        'TwoStageRoIProbe', 'PredictionProbe'
    } <= set(registry.PROBES.module_dict)


def test_building_an_unknown_type_names_it():
    with pytest.raises(KeyError, match='NoSuchDetector'):
        registry.MODELS.build(dict(type='NoSuchDetector'))
