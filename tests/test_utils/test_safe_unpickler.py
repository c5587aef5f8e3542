import io
import os
import pickle

import numpy as np
import pytest

from mmal.utils.safe_unpickler import NumpyOnlyUnpickler


def _load(raw, path='x.pkl'):
    return NumpyOnlyUnpickler(io.BytesIO(raw), path).load()


@pytest.mark.parametrize('protocol', range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_arrays_and_containers_round_trip(protocol):
    obj = dict(
        boxes=[np.arange(8, dtype=np.float32).reshape(2, 4)],
        ids=[np.int64(5), 7, 'a'],
        scores=(np.array([0.5]), None, 1.5, b'raw'),
        dtype=np.dtype('<f8'))
    out = _load(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(out['boxes'][0], obj['boxes'][0])
    assert out['boxes'][0].dtype == np.float32
    assert out['ids'] == [5, 7, 'a'] and type(out['ids'][0]) is np.int64
    assert out['scores'][1:] == (None, 1.5, b'raw')
    assert out['dtype'] == np.dtype('<f8')


class _System:

    def __reduce__(self):
        return os.system, ('true', )


@pytest.mark.parametrize('payload, name', [
    (_System(), 'system'),
    (np.float64, 'float64'),
    (_System, '_System'),
])
def test_other_globals_are_refused(payload, name):
    raw = pickle.dumps([np.zeros(2), payload])
    with pytest.raises(pickle.UnpicklingError) as info:
        _load(raw, 'evil.pkl')
    msg = str(info.value)
    assert msg.startswith('evil.pkl: refusing to load global ') and name in msg
