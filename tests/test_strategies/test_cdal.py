"""CDAL-CS: the contextual mixtures, the summed symmetric-KL distance
(against a brute-force computation), and greedy k-center picking the
image whose class mixtures differ most from the labeled set's."""
import numpy as np
import pytest
import torch

from mmal.apis import select_images
from mmal.strategies.functional import (ClassMixtures, class_mixtures,
                                        greedy_k_center_by)

C = 3
CONF = [np.roll([0.9, 0.04, 0.03, 0.03], k) for k in range(C)]
UNSURE0 = np.array([0.45, 0.25, 0.1, 0.2])


def image(*dets):
    """Fields of an image from (label, distribution) pairs."""
    return dict(
        labels=np.array([d[0] for d in dets], np.int64),
        cls_probs=np.array([d[1] for d in dets]).reshape(-1, C + 1))


def test_class_mixture_is_the_entropy_weighted_mean():
    p = np.array([[0.97, 0.01, 0.01, 0.01], [0.25, 0.25, 0.25, 0.25],
                  [0.1, 0.8, 0.05, 0.05]])
    classes, mix = class_mixtures(p, np.array([0, 0, 1]))
    h = -(p * np.log(p)).sum(1)
    assert classes.tolist() == [0, 1]
    np.testing.assert_allclose(
        mix[0], (h[0] * p[0] + h[1] * p[1]) / (h[0] + h[1]), rtol=1e-6)
    np.testing.assert_allclose(mix[1], p[2], rtol=1e-6)


def brute_distance(a, b):
    """Sum over classes of the symmetric KL, absent classes uniform."""

    def table(img):
        t = np.full((C, C + 1), 1.0 / (C + 1))
        cls, mix = class_mixtures(img['cls_probs'], img['labels'])
        t[cls] = np.clip(mix, 1e-6, None)
        return t / t.sum(1, keepdims=True)

    p, q = table(a), table(b)
    return float(((p - q) * (np.log(p) - np.log(q))).sum())


def mixtures_of(images):
    rows, cls, row_image = [], [], []
    for i, img in enumerate(images):
        c, m = class_mixtures(img['cls_probs'], img['labels'])
        rows.append(m)
        cls.append(c)
        row_image += [i] * len(c)
    return ClassMixtures(
        torch.from_numpy(np.concatenate(rows)),
        torch.from_numpy(np.concatenate(cls)), np.array(row_image),
        len(images), C)


def random_images(rng, n):
    out = []
    for _ in range(n):
        k = rng.integers(0, 5)
        out.append(
            image(*[(int(rng.integers(C)), rng.dirichlet(np.ones(C + 1) * 0.5))
                    for _ in range(k)]))
    return out


def test_distance_matches_brute_force_and_k_center_the_eager_walk():
    rng = np.random.default_rng(0)
    images = random_images(rng, 30)
    mixtures = mixtures_of(images)
    d = mixtures.distances(mixtures.tables(np.arange(30))).numpy()
    want = np.array([[brute_distance(a, b) for b in images] for a in images])
    np.testing.assert_allclose(d, want, rtol=1e-4, atol=1e-4)
    assert np.abs(np.diag(d)).max() < 1e-4
    # greedy k-center over it: the picks of the full-matrix walk
    init = torch.from_numpy(want[:, :3].min(1)).float()
    picked, values = greedy_k_center_by(
        lambda r: mixtures.distances(mixtures.tables(r)), 30, 6, rng, init)
    mind, taken, expect = want[:, :3].min(1), [], []
    for _ in range(6):
        key = np.where(np.isin(np.arange(30), taken), -np.inf, mind)
        i = int(np.argmax(key))
        taken.append(i)
        expect.append(key[i])
        mind = np.minimum(mind, want[:, i])
    assert picked.tolist() == taken
    np.testing.assert_allclose(values, expect, rtol=1e-4, atol=1e-4)


def test_cdal_picks_the_image_whose_mixtures_differ_most():
    labeled = {
        100: image((0, CONF[0])),
        101: image((0, CONF[0]), (1, CONF[1]))
    }
    pool = {
        1: image((0, CONF[0])),  # a copy of a labeled image
        2: image((0, UNSURE0)),  # class 0, another mixture
        3: image((1, CONF[1]), (2, CONF[2])),  # class 2: new to the labeled
        4: image((0, CONF[0]), (1, CONF[1])),
    }
    sel = select_images(
        dict(type='cdal-cs'),
        pool,
        2,
        labeled={
            i: v['labels']
            for i, v in labeled.items()
        },
        labeled_detections=labeled,
        num_classes=C)
    assert sel.ids.tolist() == [3, 2]
    want = min(
        brute_distance(pool[3], labeled[100]),
        brute_distance(pool[3], labeled[101]))
    assert sel.scores[0] == pytest.approx(want, rel=1e-4)
    # without labeled images the first pick is random, then the farthest
    firsts = {
        int(
            select_images(dict(type='cdal'), pool, 2, seed=s,
                          num_classes=C).ids[0])
        for s in range(8)
    }
    assert len(firsts) > 1
