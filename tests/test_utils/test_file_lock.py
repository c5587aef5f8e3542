import fcntl

import pytest

from mmal.utils.file_lock import file_lock


def test_file_lock_is_exclusive_while_held(tmp_path):
    path = tmp_path / 'new' / '.generate.lock'
    with file_lock(str(path)):
        assert path.exists()
        with open(path, 'w') as other:  # another open file: another lock
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(path, 'w') as other:  # released on exit
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_file_lock_released_on_error(tmp_path):
    path = str(tmp_path / 'x.lock')
    with pytest.raises(ValueError):
        with file_lock(path):
            raise ValueError
    with open(path, 'w') as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
