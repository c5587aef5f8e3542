"""``tools/misc/generate_proposals.py``: proposals for a folder of images
or the images of a COCO json."""
import json
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmal.datasets import load_proposals
from mmal.testing import toy_proposals

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GENERATE = osp.join(REPO, 'tools', 'misc', 'generate_proposals.py')


def _run(*args):
    return subprocess.run([sys.executable, GENERATE, *args],
                          capture_output=True,
                          text=True,
                          timeout=120)


def test_generate_proposals_toy_on_folder(toy_root, tmp_path):
    root = toy_root
    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    for i, name in enumerate(['b.png', 'a.png', 'c.png']):
        shutil.copy(osp.join(root, 'val', f'{i + 1:06d}.png'), img_dir / name)
    (img_dir / 'notes.txt').write_text('not an image')
    out = str(tmp_path / 'props.npz')
    res = _run(str(img_dir), out, '--method', 'toy')
    assert res.returncode == 0, res.stderr
    with open(tmp_path / 'props.json') as f:
        coco = json.load(f)
    assert [(i['id'], i['file_name'])
            for i in coco['images']] == [(1, 'a.png'), (2, 'b.png'),
                                         (3, 'c.png')]
    assert coco['images'][0]['width'] == 128
    props = load_proposals(out)
    assert sorted(props) == [1, 2, 3]
    assert all(0 < len(p['bboxes']) <= 300 for p in props.values())
    # image 2 is b.png, the first val image
    img = cv2.imread(osp.join(root, 'val', '000001.png'))[:, :, ::-1]
    expected, _ = toy_proposals(img, 300, np.random.default_rng([0, 2]))
    np.testing.assert_allclose(props[2]['bboxes'], expected)


@pytest.mark.skipif(
    hasattr(cv2, 'ximgproc'), reason='OpenCV contrib is installed')
def test_generate_proposals_without_contrib_fails_fast(tmp_path):
    out = str(tmp_path / 'props.npz')
    res = _run(str(tmp_path), out, '--method', 'selective-search')
    assert res.returncode != 0
    assert 'opencv-contrib-python-headless' in res.stderr
    assert '--method toy' in res.stderr
    assert not osp.exists(out)
