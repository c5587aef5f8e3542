"""Distributed runs on one machine over loopback, for tests: a free TCP port
for a ``torchrun`` rendezvous, the environment of one node of a multi-node
launch (``tools/al_train.sh`` reads ``NNODES``, ``NODE_RANK``,
``MASTER_ADDR`` and ``PORT``) and the kill of a whole node."""
import os
import signal
import socket
from typing import Dict, List

LOOPBACK = '127.0.0.1'


def free_port() -> int:
    """A TCP port of the loopback interface that is free now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def node_env(nnodes: int, node_rank: int, port: int) -> Dict[str, str]:
    """The variables that make ``tools/al_train.sh`` node ``node_rank`` of
    an ``nnodes``-node run whose master listens on ``LOOPBACK:port``."""
    return dict(
        NNODES=str(nnodes),
        NODE_RANK=str(node_rank),
        MASTER_ADDR=LOOPBACK,
        PORT=str(port))


def process_tree(pid: int) -> List[int]:
    """``pid`` and its live descendants (read from Linux's ``/proc``)."""
    parents = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                stat = f.read()
        except OSError:  # ended meanwhile
            continue
        # the fields after the command name (which may hold spaces)
        parents[int(name)] = int(stat.rsplit(')', 1)[1].split()[1])
    tree, level = [pid], {pid}
    while level:
        level = {c for c, p in parents.items() if p in level}
        tree += sorted(level)
    return tree


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process groups of ``pid`` and of all its
    descendants: what the loss of a node does to a ``torchrun`` agent and
    to its workers, which it starts in sessions of their own (so that
    killing the agent's process group alone leaves them running)."""
    own = os.getpgrp()
    for p in process_tree(pid):
        try:
            group = os.getpgid(p)
            if group != own:
                os.killpg(group, sig)
        except ProcessLookupError:
            pass
