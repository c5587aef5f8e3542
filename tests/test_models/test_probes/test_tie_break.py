"""Equal scores: a detection whose class probability several sources share
is traced to the source whose decoded box is the detection's box."""
import numpy as np
import torch
from mmengine.structures import InstanceData

from mmal.models.probes import TwoStageRoIProbe, build_probe

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
