"""Learning Loss: the margin ranking loss on planted pairs, and the
loss-prediction module on the toy RetinaNet (it trains, stops its gradient
into the detector when told, and serves the ``loss`` field)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmal.models.layers import margin_ranking_loss
from mmal.models.probes import build_probe
from mmal.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/learning-loss/retinanet_r18_fpn_learning-loss_toy.py'


def test_ranking_loss_orders_a_planted_pair():
    target = torch.tensor([2.0, 0.5])  # image 0 has the larger loss
    right = torch.tensor([1.5, 0.2], requires_grad=True)  # 1.3 apart
    wrong = torch.tensor([0.2, 1.5], requires_grad=True)
    close = torch.tensor([0.6, 0.2])  # right order, within the margin
    assert margin_ranking_loss(right, target).item() == 0.0
    assert margin_ranking_loss(wrong, target).item() == pytest.approx(2.3)
    assert margin_ranking_loss(close, target).item() == pytest.approx(0.6)
    margin_ranking_loss(wrong, target).backward()
    # the gradient pushes image 0's prediction up and image 1's down
    assert wrong.grad[0] < 0 < wrong.grad[1]
    # pairs are (i, B - 1 - i): (0, 3) and (1, 2), averaged
    t4 = torch.tensor([3.0, 1.0, 2.0, 0.0])
    p4 = torch.tensor([0.0, 0.0, 0.0, 5.0])  # (0, 3) wrong by 5, (1, 2) tie
    assert margin_ranking_loss(p4, t4).item() == pytest.approx((6 + 1) / 2)
    assert margin_ranking_loss(torch.ones(1), torch.ones(1)).item() == 0.0


@pytest.fixture(scope='module')
def toy_model_and_batch(toy_root):
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ds = cfg.train_dataloader.dataset
    ds.data_root = toy_root
    dataset = DATASETS.build(ds)
    batch = pseudo_collate([dataset[i] for i in range(4)])
    return cfg, model, batch


def test_module_trains_on_the_toy_detector(toy_model_and_batch):
    cfg, model, batch = toy_model_and_batch
    assert type(model).__name__ == 'LearningLossRetinaNet'
    # One joint step moves both the detector and the module.
    model.train()
    optim = build_optim_wrapper(
        model,
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3)))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(batch, optim)
    assert torch.isfinite(log['loss_pred']) and torch.isfinite(log['loss'])
    moved = {
        n.split('.')[0]
        for n, p in model.named_parameters() if not torch.equal(p, before[n])
    }
    assert {'backbone', 'bbox_head', 'loss_prediction'} <= moved
    # With the detector frozen (fixed targets, BN on running statistics)
    # the module alone learns to rank the 4 images: its margin ranking loss
    # falls to under a third of where it starts.
    model.eval()
    frozen = [
        p for n, p in model.named_parameters()
        if not n.startswith('loss_prediction.')
    ]
    for p in frozen:
        p.requires_grad_(False)
    try:
        optim = build_optim_wrapper(
            model,
            dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=5e-3)))
        ranking = []
        for _ in range(15):
            log = model.train_step(batch, optim)
            ranking.append(float(log['loss_pred']))
    finally:
        for p in frozen:
            p.requires_grad_(True)
    assert ranking[0] > 0
    assert min(ranking[-5:]) < ranking[0] / 3, ranking


def test_per_image_targets_and_the_gradient_stop(toy_model_and_batch):
    cfg, model, batch = toy_model_and_batch
    data = model.data_preprocessor(batch, True)
    inputs, samples = data['inputs'], data['data_samples']
    model.eval()  # BN on running statistics: one image's features alone
    # are its rows of the batch's
    with torch.no_grad():
        feats = model.extract_feat(inputs)
        targets = model.per_image_losses(inputs, samples, feats)
        model._ll_feats = None
        # the target of image 2 is the detector's loss on image 2 alone
        alone, _ = model.parse_losses(
            type(model).__bases__[1].loss(model, inputs[2:3], samples[2:3]))
    assert targets.shape == (4, )
    assert targets[2].item() == pytest.approx(alone.item(), rel=1e-4)
    assert len(set(targets.tolist())) == 4
    model.train()
    margin, model.loss_pred_margin = model.loss_pred_margin, 100.0  # active
    for detached in (False, True):
        model.zero_grad()
        model.stop_loss_gradient(detached)
        model.loss(inputs, samples)['loss_pred'].backward()
        grad = model.backbone.conv1.weight.grad
        reached = grad is not None and bool(grad.abs().sum() > 0)
        assert reached is not detached
        assert model.loss_prediction.out.weight.grad.abs().sum() > 0
    model.stop_loss_gradient(False)
    model.loss_pred_margin = margin


def test_predicted_loss_is_the_loss_field(toy_model_and_batch):
    cfg, model, batch = toy_model_and_batch
    model.eval()
    with build_probe(model, ('loss', )) as probe:
        out = probe.run(batch)
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        want = model.loss_prediction(model.extract_feat(data['inputs']))
        model._ll_feats = None
    got = torch.tensor([float(f['loss']) for _, f in out])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    # the detector's own probe still fits it for its other fields
    assert type(build_probe(model,
                            ('cls_probs', ))).__name__ == 'AnchorHeadProbe'
