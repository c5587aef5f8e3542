"""Work through a benchmark matrix; several jobs may do so at once.

Each job takes the first item it can claim that is neither done nor
claimed (shared cycle 0s first, then the runs of seeds whose cycle 0 is
done), runs it as an ordinary loop (which resumes whatever a killed job
left in its work dir), releases the claim and looks again. It ends when
every item is done, or when what is left is claimed by other jobs; it
waits (polling) only while a run it could do waits for a cycle 0 another
job is training.
"""
import time
from typing import Callable, Optional

from mmengine.dist import get_rank

from mmal.active_learning import ActiveLearningLoop
from mmal.active_learning.distributed import broadcast, run_on_rank0
from .claims import try_claim
from .matrix import Matrix, MatrixItem
from .shared_cycle0 import start_from_cycle0


def run_item(matrix: Matrix, item: MatrixItem, progress: bool = True) -> None:
    """Run one item's loop (all ranks call this)."""
    if item.strategy is not None:
        shared = matrix.cycle0[item.seed].work_dir
        run_on_rank0(lambda: start_from_cycle0(shared, item.work_dir))
    loop = ActiveLearningLoop(item.cfg, progress=progress)
    loop.name = item.name
    loop.run()


def work(matrix: Matrix,
         progress: bool = True,
         poll_s: float = 10.0,
         log: Callable[[str], None] = print,
         max_items: Optional[int] = None) -> int:
    """Claim and run items until none is left for this job; returns how
    many it ran. ``max_items`` stops after that many (tests)."""
    ran = 0
    while max_items is None or ran < max_items:
        item, waiting, lock = _claim_next(matrix)
        if item is None:
            if not waiting:
                return ran
            time.sleep(poll_s)
            continue
        try:
            if get_rank() == 0:
                log(f'[mmal benchmark] {item.name} -> {item.work_dir}')
            run_item(matrix, item, progress)
            ran += 1
        finally:
            if lock is not None:
                lock.release()
    return ran


def _claim_next(matrix: Matrix):
    """(claimed item or None, whether a wait may help, the claim): the
    item and the flag are the same on all ranks, the claim is held by rank
    0 (None elsewhere)."""

    def claim():
        waiting = False
        for i, item in enumerate(matrix.items):
            if item.done:
                continue
            if not matrix.ready(item):
                waiting = True
                continue
            lock = try_claim(item.claim)
            if lock is None:
                continue
            if item.done:  # finished by another job meanwhile
                lock.release()
                continue
            return i, waiting, lock
        return None, waiting, None

    found = run_on_rank0(claim)
    lock = found[2] if found else None
    i, waiting = broadcast(found[:2] if found else None)
    return (None if i is None else matrix.items[i]), waiting, lock
