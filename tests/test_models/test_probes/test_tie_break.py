"""Equal scores: a detection whose class probability several sources share
is traced to the source whose decoded box is the detection's box."""
import numpy as np
import torch
from mmengine.structures import InstanceData

from mmal.models.probes import TwoStageRoIProbe, build_probe, tracing

#: Two planted proposals (x1, y1, x2, y2 in input pixels), far apart.
PROPOSALS = ((8., 8., 48., 48.), (64., 60., 120., 116.))


def test_equal_scores_are_told_apart_by_the_decoded_box(toy_detector):
    model, batch = toy_detector('faster-rcnn_r18_fpn_toy.py', batch_size=1)
    head = model.roi_head.bbox_head
    with torch.no_grad():
        # every proposal gets the same logits (so exactly the same class
        # probabilities) and zero deltas (its decoded box is its own box)
        for layer in (head.fc_cls, head.fc_reg):
            layer.weight.zero_()
            layer.bias.zero_()
    sample = batch['data_samples'][0]
    sample.proposals = InstanceData(bboxes=torch.tensor(PROPOSALS))
    seen = []  # the fc_cls input of each proposal, in proposal order
    head.fc_cls.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    probe = build_probe(model, ('bboxes', 'labels', 'cls_probs', 'feats'))
    assert type(probe) is TwoStageRoIProbe
    with probe:
        (pred, f), = probe.run(batch)
    proposal_feats = seen[0].numpy()
    assert proposal_feats.shape[0] == 2
    assert not np.allclose(proposal_feats[0], proposal_feats[1])

    n_cls = head.num_classes
    # both proposals are kept for every class, with the same score
    assert len(f['labels']) == 2 * n_cls
    np.testing.assert_allclose(f['cls_probs'], 1 / (n_cls + 1), rtol=1e-6)
    scale = np.tile(np.asarray(pred.metainfo['scale_factor']), 2)
    boxes = np.asarray(PROPOSALS) / scale  # in original-image pixels
    owner = np.abs(f['bboxes'][:, None] - boxes[None]).sum(-1).argmin(1)
    np.testing.assert_allclose(f['bboxes'], boxes[owner], rtol=1e-5, atol=1e-3)
    assert set(owner.tolist()) == {0, 1}
    # a detection of the second proposal is not given the first one's
    # feature, although the first one is as likely
    np.testing.assert_allclose(
        f['feats'], proposal_feats[owner], rtol=1e-6, atol=1e-6)


def _sample(pred, path):
    """A prediction as the tracing reads it."""

    class Sample:
        pred_instances = pred
        metainfo = dict(img_path=path)

    return Sample()


def _decoder(boxes, calls):
    """``decode`` of sources whose boxes are ``boxes`` (class-agnostic),
    recording the rows asked for in ``calls``."""

    def decode(rows, classes):
        calls.append(rows.numel())
        return boxes[rows]

    return decode


def test_many_ties_are_decoded_once_per_class(monkeypatch):
    """600 detections of class 1 share one score with 900 sources (an
    untrained YOLOX ties thousands): each is given the source whose box is
    its own, the candidates are decoded in one call per class, and the
    chunks of tied detections (set to 256 here) meet without a gap."""
    monkeypatch.setattr(tracing, '_TIE_CHUNK', 256)
    gen = torch.Generator().manual_seed(0)
    n_src = 900
    xy = torch.rand(n_src, 2, generator=gen) * 500
    wh = 10 + torch.rand(n_src, 2, generator=gen) * 50
    src_boxes = torch.cat([xy, xy + wh], 1)
    probs = torch.full((n_src, 3), 0.2)
    probs[:, 1] = 0.5  # every source ties for class 1
    probs[7, 2] = 0.9  # one source alone has 0.9 for class 2
    owners = torch.randperm(n_src, generator=gen)[:600]
    pred = InstanceData(
        bboxes=torch.cat([src_boxes[owners], src_boxes[7:8]]),
        labels=torch.tensor([1] * 600 + [2]),
        scores=torch.tensor([0.5] * 600 + [0.9]))

    calls = []
    decode = _decoder(src_boxes, calls)
    rows = tracing.match_sources(probs, _sample(pred, 'planted.png'), decode)
    assert rows[:600].tolist() == owners.tolist()
    assert rows[600].item() == 7
    assert calls == [n_src]  # once, for class 1; class 2 has no tie


def _pool(data):
    """A tie-heavy pool drawn by hypothesis: M sources with probabilities
    from three values (so most detections tie), boxes on a coarse grid
    (equal boxes, -0.0 beside 0.0), and detections made from sources, some
    with a box moved by one ulp or a score no source has."""
    from hypothesis import strategies as st
    m = data.draw(st.integers(1, 40), label='sources')
    n_cls = data.draw(st.integers(1, 3), label='classes')
    level = st.sampled_from([0.25, 0.5, 0.5 + 1e-7])
    probs = torch.tensor(
        data.draw(
            st.lists(
                st.lists(level, min_size=n_cls, max_size=n_cls),
                min_size=m,
                max_size=m)))
    coord = st.sampled_from([-0.0, 0.0, 1.0, 2.0, 3.5])
    boxes = torch.tensor(
        data.draw(
            st.lists(
                st.lists(coord, min_size=4, max_size=4),
                min_size=m,
                max_size=m)))
    n = data.draw(st.integers(0, 30), label='detections')
    dets = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, m - 1), st.integers(0, n_cls - 1),
                st.sampled_from(['own', 'ulp'])),
            min_size=n,
            max_size=n))
    src = torch.tensor([d[0] for d in dets], dtype=torch.long)
    labels = torch.tensor([d[1] for d in dets], dtype=torch.long)
    det_boxes = boxes[src].clone()
    for i, d in enumerate(dets):
        if d[2] == 'ulp':
            det_boxes[i, 0] = torch.nextafter(det_boxes[i, 0],
                                              torch.tensor(9.))
    pred = InstanceData(
        bboxes=det_boxes, labels=labels, scores=probs[src, labels])
    return probs, boxes, pred


def test_box_lookup_picks_what_the_full_comparison_picks():
    """With ``agnostic`` every source is decoded once and detections are
    looked up by box first; the rows are exactly those of the full
    comparison (first of the nearest boxes among the sources with the
    detection's probability), ties, equal boxes and near misses included."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        probs, boxes, pred = _pool(data)

        calls = []
        decode, sample = _decoder(boxes, calls), _sample(pred, 'drawn.png')
        full = tracing.match_sources(probs, sample, decode)
        calls.clear()
        looked_up = tracing.match_sources(probs, sample, decode, agnostic=True)
        assert looked_up.tolist() == full.tolist()
        if len(pred):
            # one call for every source; more only for box misses
            assert calls[0] == probs.shape[0]

    check()


def test_box_lookup_leaves_non_finite_boxes_to_the_full_comparison():
    """A source box with inf or NaN makes box errors NaN, whose order only
    the full comparison reproduces: the lookup is skipped."""
    boxes = torch.tensor([[0., 0., 1., 1.], [0., 0., float('inf'), 1.],
                          [0., 0., 1., 1.]])
    probs = torch.full((3, 1), 0.5)
    pred = InstanceData(
        bboxes=boxes[[2, 0]],
        labels=torch.tensor([0, 0]),
        scores=torch.tensor([0.5, 0.5]))

    decode, sample = _decoder(boxes, []), _sample(pred, 'inf.png')
    full = tracing.match_sources(probs, sample, decode)
    assert tracing.match_sources(
        probs, sample, decode, agnostic=True).tolist() == full.tolist()
