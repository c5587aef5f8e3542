"""The summary store: shards read back equal to what was written, memory
mapped, in the requested order; bad and stale shards refused or cleared."""
import json
import os

import numpy as np
import pytest
import torch

from mmal.active_learning import SplitError
from mmal.active_learning.summary_store import (Summaries, SummaryStore,
                                                _map_npy, write_shard)
from mmal.strategies import StrategyError
from mmal.testing.refusal_table import refused


def _summaries(rng, ks=(0, 3, 1, 2)):
    return [
        dict(
            score=np.float64(rng.random()),
            classes=rng.integers(0, 5, k).astype(np.int32),
            protos=rng.normal(size=(k, 8)).astype(np.float16)) for k in ks
    ]


def test_round_trip_order_and_duplicates(tmp_path):
    summaries = _summaries(np.random.default_rng(0))
    write_shard(str(tmp_path / 'rank0-00000'), [4, 7], summaries[:2])
    write_shard(str(tmp_path / 'rank1-00000'), [9, 2], summaries[2:])
    got = SummaryStore(str(tmp_path)).read()
    assert sorted(got) == [2, 4, 7, 9]
    for i, s in zip([4, 7, 9, 2], summaries):
        for k, v in s.items():
            np.testing.assert_array_equal(got[i][k], v)
            assert np.shape(got[i][k]) == np.shape(v)
            assert np.asarray(got[i][k]).dtype == np.asarray(v).dtype
    # the requested order, and columns in it
    some = SummaryStore(str(tmp_path)).read([2, 9, 4])
    assert some.ids.tolist() == [2, 9, 4]
    np.testing.assert_array_equal(
        some.column('score'),
        [float(summaries[k]['score']) for k in (3, 2, 0)])
    assert some.lengths('classes').tolist() == [2, 1, 0]
    with pytest.raises(SplitError, match='not scored'):
        SummaryStore(str(tmp_path)).read([2, 5])
    write_shard(str(tmp_path / 'rank1-00001'), [7], summaries[:1])
    with pytest.raises(SplitError, match='scored in two shards'):
        SummaryStore(str(tmp_path)).read()


def test_in_memory_equals_on_disk(tmp_path):
    summaries = _summaries(np.random.default_rng(3))
    ids = [5, 1, 8, 3]
    write_shard(str(tmp_path / 'rank0-00000'), ids, summaries)
    disk = SummaryStore(str(tmp_path)).read()
    memory = Summaries.from_dict(dict(zip(ids, summaries)))
    assert disk.ids.tolist() == memory.ids.tolist() == ids
    np.testing.assert_array_equal(disk.column('score'), memory.column('score'))
    for i in ids:
        for k in summaries[0]:
            np.testing.assert_array_equal(disk[i][k], memory[i][k])


def test_bad_summaries_are_refused(tmp_path):
    with pytest.raises(StrategyError, match='numeric'):
        Summaries.from_dict({1: dict(x=np.array([{'a': 1}], dtype=object))})
    with pytest.raises(StrategyError, match='same fields'):
        Summaries.from_dict({1: dict(a=1.0), 2: dict(b=1.0)})
    with pytest.raises(StrategyError, match='dimensions'):
        Summaries.from_dict({1: dict(a=np.zeros(3)), 2: dict(a=1.0)})
    with pytest.raises(StrategyError, match="no field 'nope'"):
        Summaries.from_dict({1: dict(a=1.0)}).column('nope')
    path = tmp_path / 'obj.npy'
    np.save(path, np.array([{'a': 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SplitError, match='Python objects'):
        _map_npy(str(path))


def test_stacking_mapped_features_releases_pages_but_keeps_data(tmp_path):
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(9, 6)).astype(np.float16)
    write_shard(
        str(tmp_path / 'rank0-00000'), list(range(9)),
        [dict(img_feat=f) for f in feats])
    got = SummaryStore(str(tmp_path)).read()
    assert not got[0]['img_feat'].flags.writeable  # a view of the map
    x = got.stack('img_feat', np.float32, chunk=4)
    np.testing.assert_array_equal(x, feats.astype(np.float32))
    t = got.stack('img_feat', np.float32, device='cpu')
    assert isinstance(t, torch.Tensor) and t.shape == (9, 6)
    # released pages are read again from the file on the next access
    np.testing.assert_array_equal(got[8]['img_feat'], feats[8])


def test_row_matrix_merges_the_images_of_a_shard(tmp_path):
    rng = np.random.default_rng(2)
    feats = [
        rng.normal(size=(k, 3)).astype(np.float16) for k in (2, 0, 3, 1, 4)
    ]
    write_shard(
        str(tmp_path / 'rank0-00000'), [0, 1, 2],
        [dict(f=f) for f in feats[:3]])
    write_shard(
        str(tmp_path / 'rank0-00001'), [3, 4], [dict(f=f) for f in feats[3:]])
    got = SummaryStore(str(tmp_path)).read()
    m = got.matrix('f', 1 << 20, 'cpu')
    assert len(m.blocks) == 2 and m.num_rows == 10 and m.dim == 3
    assert m.row_image.tolist() == [0, 0, 2, 2, 2, 3, 4, 4, 4, 4]
    rows = np.concatenate(feats).astype(np.float32)
    np.testing.assert_array_equal(m.rows(np.arange(10)[::-1]), rows[::-1])
    small = got.matrix('f', 2, 'cpu')
    assert [len(b) for _, b in small.blocks] == [2, 2, 1, 2, 2, 1]
    blocks = [x for _, x in small.iter_blocks()]
    np.testing.assert_array_equal(torch.cat(blocks).numpy(), rows)
    # another order: rows follow it
    rev = got.take([4, 3, 2, 1, 0]).matrix('f', 1 << 20, 'cpu')
    np.testing.assert_array_equal(
        rev.rows(np.arange(10)),
        np.concatenate(feats[::-1]).astype(np.float32))


def test_prepare_clears_other_passes_and_leftovers(tmp_path):
    store = SummaryStore(str(tmp_path / 'acq'))
    assert store.prepare(dict(checkpoint='a')).tolist() == []
    write_shard(store.root + '/rank0-00000', [3, 1], [dict(s=1.0)] * 2)
    os.makedirs(store.root + '/.rank0-00001.x.tmp')
    assert store.prepare(dict(checkpoint='a')).tolist() == [1, 3]
    assert not os.path.exists(store.root + '/.rank0-00001.x.tmp')
    assert store.prepare(dict(checkpoint='b')).tolist() == []
    with open(store.root + '/meta.json') as f:
        assert json.load(f) == dict(checkpoint='b')


def test_shards_of_the_earlier_format_are_refused(tmp_path):
    acq = tmp_path / 'cycle_2' / 'acquisition'
    acq.mkdir(parents=True)
    np.savez(acq / 'rank0-00000.npz', x=np.zeros(2))
    with refused(SplitError, 're-score the pool of cycle_2',
                 'pool summaries of the earlier format'):
        SummaryStore(str(acq)).prepare(dict())
    with pytest.raises(SplitError, match='earlier mmal format'):
        SummaryStore(str(acq)).read()
