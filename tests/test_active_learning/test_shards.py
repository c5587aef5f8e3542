"""Summary shards are read back as memory maps equal to what was written."""
import numpy as np
import pytest

from mmal.active_learning.acquisition import map_npz, read_shards, write_shard


def test_map_npz_equals_np_load(tmp_path):
    arrays = dict(
        a=np.arange(12, dtype=np.float16).reshape(3, 4),
        b=np.array(3.5),
        c=np.zeros((0, 7), np.int32),
        d=np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        e=np.arange(5, dtype=np.int64))
    plain = tmp_path / 'plain.npz'
    np.savez(plain, **arrays)
    packed = tmp_path / 'packed.npz'
    np.savez_compressed(packed, **arrays)  # falls back to reading
    for path in (plain, packed):
        mapped = map_npz(str(path))
        assert sorted(mapped) == sorted(arrays)
        for k, v in arrays.items():
            assert mapped[k].dtype == v.dtype and mapped[k].shape == v.shape
            np.testing.assert_array_equal(mapped[k], v)
    assert isinstance(map_npz(str(plain))['a'], np.memmap)


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / 'obj.npz'
    np.savez(path, x=np.array([{'a': 1}], dtype=object))
    with pytest.raises(ValueError, match='Python objects'):
        map_npz(str(path))


def test_read_shards_round_trip_and_duplicates(tmp_path):
    rng = np.random.default_rng(0)
    summaries = [
        dict(
            score=np.float64(rng.random()),
            classes=rng.integers(0, 5, k).astype(np.int32),
            protos=rng.normal(size=(k, 8)).astype(np.float16))
        for k in (0, 3, 1, 2)
    ]
    write_shard(str(tmp_path / 'rank0-00000.npz'), [4, 7], summaries[:2])
    write_shard(str(tmp_path / 'rank1-00000.npz'), [9, 2], summaries[2:])
    got = read_shards(str(tmp_path))
    assert sorted(got) == [2, 4, 7, 9]
    for i, s in zip([4, 7, 9, 2], summaries):
        for k, v in s.items():
            np.testing.assert_array_equal(got[i][k], v)
            assert np.shape(got[i][k]) == np.shape(v)
    write_shard(str(tmp_path / 'rank1-00001.npz'), [7], summaries[:1])
    with pytest.raises(RuntimeError, match='already scored'):
        read_shards(str(tmp_path))


def test_stacking_mapped_features_releases_pages_but_keeps_data(tmp_path):
    from mmal.strategies.core_set import stack_rows
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(9, 6)).astype(np.float16)
    write_shard(
        str(tmp_path / 'rank0-00000.npz'), list(range(9)),
        [dict(img_feat=f) for f in feats])
    got = read_shards(str(tmp_path))
    assert isinstance(got[0]['img_feat'], np.memmap)
    x = stack_rows(got, list(range(9)), 'img_feat', np.float32, chunk=4)
    np.testing.assert_array_equal(x, feats.astype(np.float32))
    # released pages are read again from the file on the next access
    np.testing.assert_array_equal(got[8]['img_feat'], feats[8])
