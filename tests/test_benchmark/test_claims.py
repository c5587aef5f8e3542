"""Claim files: of several jobs asking at once, exactly one gets each
item; a dead job's claim is free again."""
import multiprocessing as mp
import os

from mmal.benchmark.claims import held_by, try_claim


def _claimer(paths, start, out, done):
    start.wait()
    mine = [p for p in paths if try_claim(p) is not None]  # held till exit
    out.put((os.getpid(), mine))
    done.wait()


def test_two_claimers_never_share_an_item(tmp_path):
    ctx = mp.get_context('fork')
    paths = [str(tmp_path / f'item{i}.lock') for i in range(20)]
    start, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_claimer, args=(paths, start, out, done))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    start.set()
    got = [out.get(timeout=60) for _ in procs]
    held = [held_by(p) for p in paths]
    done.set()
    for p in procs:
        p.join(timeout=60)
    claimed = [p for _, mine in got for p in mine]
    assert sorted(claimed) == sorted(paths)  # each item exactly once
    assert all(h and 'pid' in h for h in held)
    # the claimers are gone: every claim is free again
    assert all(held_by(p) is None for p in paths)
    lock = try_claim(paths[0])
    assert lock is not None and try_claim(paths[0]) is None
    lock.release()
    again = try_claim(paths[0])
    assert again is not None
    again.release()
