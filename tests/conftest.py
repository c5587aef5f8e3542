import pytest

from mmal.testing import make_toy_benchmark
from mmal.utils.setup_env import register_all_modules


@pytest.fixture(scope='session', autouse=True)
def mmal_modules():
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """A small toy dataset (16 train / 8 val images) shared by the tests."""
    root = tmp_path_factory.mktemp('toy')
    make_toy_benchmark(str(root), num_train=16, num_val=8, seed=0)
    return str(root)
