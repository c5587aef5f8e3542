"""Rank-0 work with a clean failure on every rank."""
from typing import Callable, TypeVar

from mmengine.dist import (barrier, broadcast_object_list, get_rank,
                           get_world_size)

from mmal.strategies import StrategyError
from .oracles import AnnotationRequired
from .pool import SplitError

T = TypeVar('T')
_KNOWN = {
    e.__name__: e
    for e in (AnnotationRequired, SplitError, StrategyError)
}


def run_on_rank0(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 while the other ranks wait; an exception on rank
    0 is raised on every rank (same type for mmal's own errors), so no rank
    hangs at a later barrier. Returns ``fn``'s result on rank 0 and ``None``
    elsewhere."""
    result, err = None, None
    if get_rank() == 0:
        try:
            result = fn()
        except BaseException as e:  # noqa: B902 - re-raised below
            err = e
    if get_world_size() > 1:
        msg = [None if err is None else (type(err).__name__, str(err))]
        broadcast_object_list(msg, src=0)
        if get_rank() != 0 and msg[0] is not None:
            name, text = msg[0]
            raise _KNOWN.get(name, RuntimeError)(f'(rank 0) {text}')
    if err is not None:
        raise err
    barrier()
    return result


def broadcast(obj):
    """``obj`` of rank 0 on every rank."""
    if get_world_size() == 1:
        return obj
    box = [obj]
    broadcast_object_list(box, src=0)
    return box[0]
