"""build_probe picks the adapter by asking the registered ones, so a new
detector family is one registered adapter away, and explains a refusal."""
import re

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from torch import nn

from mmal.models.probes import (BaseProbe, FieldProviderProbe, PredictionProbe,
                                TwoStageRoIProbe, build_probe, probe_adapters)
from mmal.registry import PROBES
from mmal.strategies import StrategyError


@pytest.fixture
def register():
    """``register(cls)`` registers a throwaway adapter for one test."""
    added = []

    def add(cls):
        PROBES.register_module(module=cls)
        added.append(cls.__name__)
        return cls

    yield add
    for name in added:
        PROBES._module_dict.pop(name)


class UniformFoveaProbe(BaseProbe):
    """A throwaway adapter of FoveaBox heads: a uniform ``cls_probs``."""

    priority = 50
    provides = ('cls_probs', )

    @classmethod
    def mismatch(cls, model):
        from mmdet.models.dense_heads import FoveaHead
        if isinstance(getattr(model, 'bbox_head', None), FoveaHead):
            return None
        return 'needs a FoveaHead'

    def _fields(self, b, sample):
        n = len(sample.pred_instances)
        c = self.model.bbox_head.num_classes
        return dict(cls_probs=np.full((n, c + 1), 1 / (c + 1), np.float32))


def image_batch(num=2, size=64):
    torch.manual_seed(1)
    meta = dict(
        img_shape=(size, size),
        ori_shape=(size, size),
        scale_factor=(1.0, 1.0))
    return dict(
        inputs=[
            torch.randint(0, 255, (3, size, size), dtype=torch.uint8)
            for _ in range(num)
        ],
        data_samples=[DetDataSample(metainfo=meta) for _ in range(num)])


def test_adapters_are_asked_in_priority_order():
    order = probe_adapters()
    assert order[0] is FieldProviderProbe and order[-1] is PredictionProbe
    assert [c.priority for c in order] == sorted((c.priority for c in order),
                                                 reverse=True)
    # every adapter declares what it fits and what it adds
    for c in order:
        assert 'mismatch' in vars(c) or c.mismatch is not BaseProbe.mismatch
        assert set(c.provides) <= {'cls_probs', 'feats', 'img_feat', 'loss'}


def test_a_registered_adapter_is_picked_by_asking(fovea, register):
    fields = ('scores', 'cls_probs', 'img_feat')
    with pytest.raises(StrategyError, match='FOVEA'):
        build_probe(fovea, fields)
    register(UniformFoveaProbe)
    assert UniformFoveaProbe in probe_adapters()
    probe = build_probe(fovea, fields)
    assert type(probe) is UniformFoveaProbe
    with probe:
        out = probe.run(image_batch())
    assert len(out) == 2
    for sample, f in out:
        n = len(sample.pred_instances)
        assert f['cls_probs'].shape == (n, 4) and f['scores'].shape == (n, )
        assert f['img_feat'].shape == (512, )  # ResNet-18 C5, from the base
    # it outranks the fallback for the common fields too
    assert type(build_probe(fovea, ('img_feat', ))) is UniformFoveaProbe
    assert UniformFoveaProbe.mismatch(nn.Module()) == 'needs a FoveaHead'


def fake_two_stage():
    """Just enough of a Faster R-CNN for the adapters to answer."""
    model = nn.Module()
    model.backbone = nn.Identity()
    model.roi_head = nn.Module()
    model.roi_head.bbox_roi_extractor = nn.Identity()
    model.roi_head.bbox_head = nn.Module()
    model.roi_head.bbox_head.fc_cls = nn.Linear(4, 3)
    return model


@pytest.mark.parametrize('priority,picked', [(10, 'TwoStageRoIProbe'),
                                             (30, 'ThrowawayRoIProbe')])
def test_priority_decides_between_fitting_adapters(register, priority, picked):
    register(
        type('ThrowawayRoIProbe', (TwoStageRoIProbe, ),
             dict(priority=priority)))
    assert type(build_probe(fake_two_stage(), ('feats', ))).__name__ == picked


def test_an_unsupported_detector_names_itself_and_the_field(fovea):
    with pytest.raises(StrategyError) as err:
        build_probe(fovea, ('scores', 'feats'))
    msg = str(err.value)
    first = msg.splitlines()[0]
    assert 'FOVEA (bbox_head FoveaHead)' in first and "['feats']" in first
    # what each adapter needs, and how to add one
    assert re.search(
        r'AnchorHeadProbe: needs an anchor-based dense head.*'
        r'bbox_head is FoveaHead', msg)
    assert 'TwoStageRoIProbe: needs a two-stage detector' in msg
    assert 'FieldProviderProbe: needs a detector that implements' in msg
    assert "PredictionProbe fits it but does not provide ['feats']" in msg
    assert 'docs/add_a_detector.md' in msg


def test_adapter_hints_survive_in_the_message(fovea):
    # a plain anchor head: its conv_cls is a classification layer the
    # dense-head adapter knows (feats too)
    from mmdet.models.dense_heads import AnchorHead
    model = nn.Module()
    model.backbone = nn.Identity()
    model.bbox_head = AnchorHead(num_classes=3, in_channels=8)
    assert type(build_probe(model, ('feats', ))).__name__ == 'DenseHeadProbe'
    # without a known classification layer: cls_probs yes, feats no
    del model.bbox_head.conv_cls
    assert type(build_probe(model, ('cls_probs', ))).__name__ == \
        'AnchorHeadProbe'
    with pytest.raises(StrategyError, match='RetinaHead, SSDHead and'):
        build_probe(model, ('feats', ))
    # a RoI head that is not a single StandardRoIHead-like one
    model = fake_two_stage()
    del model.roi_head.bbox_head.fc_cls
    with pytest.raises(StrategyError, match='fc_cls'):
        build_probe(model, ('cls_probs', ))
    # no backbone, no img_feat
    del model.backbone
    with pytest.raises(StrategyError, match='no backbone'):
        build_probe(model, ('img_feat', ))
    # built directly, an adapter refuses what it does not fit
    with pytest.raises(StrategyError, match='TwoStageRoIProbe does not fit'):
        TwoStageRoIProbe(fovea, ('feats', ))
