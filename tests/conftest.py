import os

import pytest

from mmal.testing import make_toy_benchmark
from mmal.utils.setup_env import register_all_modules


@pytest.fixture(scope='session', autouse=True)
def mmal_modules():
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session', autouse=True)
def mmal_cache(tmp_path_factory):
    """mmal's caches (checked image headers) in a folder of the test
    session, for this process and the ones it starts."""
    old = os.environ.get('MMAL_CACHE_DIR')
    os.environ['MMAL_CACHE_DIR'] = str(tmp_path_factory.mktemp('cache'))
    yield
    if old is None:
        os.environ.pop('MMAL_CACHE_DIR')
    else:
        os.environ['MMAL_CACHE_DIR'] = old


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """A small toy dataset (16 train / 8 val images) shared by the tests."""
    root = tmp_path_factory.mktemp('toy')
    make_toy_benchmark(str(root), num_train=16, num_val=8, seed=0)
    return str(root)
