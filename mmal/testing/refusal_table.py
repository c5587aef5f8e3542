"""The bad-input table of ``docs/config.md``, kept true by the tests.

Tests of a refusal record the message they got (:func:`refused` around the
call, or :func:`record` for a command's last line of stderr). At the end of
a test session the recorded messages are compared with the table between
the markers in ``docs/config.md``: a row that says something else fails the
session, so the table cannot drift from what mmal prints. To rewrite the
rows of the cases a session ran::

    MMAL_WRITE_REFUSALS=1 python -m pytest tests/test_active_learning

(``tools/run_tests.sh`` runs the whole suite, its workers merging their
rows under a lock; the whole suite in one process with
``MMAL_WRITE_REFUSALS=rebuild`` drops rows whose test is gone.)
"""
import os
import os.path as osp
import re
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

START = '<!-- refusals: generated from the tests, do not edit -->'
END = '<!-- refusals: end -->'
#: case -> (test file, message)
_recorded: Dict[str, Tuple[str, str]] = {}

_TMP = re.compile(r"(/tmp/|/private/var/\S*/)pytest-of-[^/]+/pytest-\d+/"
                  r"(popen-gw\d+/)?[^/'\"\s]+")
_VOLATILE = [
    (re.compile(r'pid \d+'), 'pid <pid>'),
    (re.compile(r'host \S+'), 'host <host>'),
    (re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d'), '<time>'),
    (re.compile(r'\d+(\.\d+)? (B|KiB|MiB|GiB) free'), '<n> free'),
    (re.compile(r'\b0x[0-9a-f]+\b'), '0x...'),
    # registry listings grow with every plug-in
    (re.compile(r"\[(?:'[^']*', ){8,}'[^']*'\]"), '[...]'),
]
#: longer messages are cut (the rest is a library's own explanation)
MAX_CHARS = 320


def normalize(message: str) -> str:
    """The message with what changes between runs (temporary folders,
    pids, hosts, times, free space, the registry's listing) replaced by
    placeholders, cut at :data:`MAX_CHARS`."""
    msg = _TMP.sub('<tmp>', message.strip())
    for pattern, repl in _VOLATILE:
        msg = pattern.sub(repl, msg)
    msg = ' '.join(msg.split())
    return msg if len(msg) <= MAX_CHARS else msg[:MAX_CHARS - 3] + '...'


def _current_test() -> str:
    name = os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]
    return name.split('::')[0]


def record(case: str, message: str) -> None:
    """Record the message a bad input got, under the table row ``case``.

    Raises:
        AssertionError: ``case`` was recorded with another message in
            this session (two tests claiming one row).
    """
    msg = normalize(message)
    old = _recorded.get(case)
    if old is not None and old[1] != msg:
        raise AssertionError(f'refusal {case!r} recorded twice with '
                             f'different messages:\n{old[1]}\n{msg}')
    _recorded[case] = (_current_test(), msg)


@contextmanager
def refused(exception, match: str, case: str) -> Iterator[None]:
    """``pytest.raises(exception, match=match)`` that records the message
    under ``case``."""
    import pytest
    with pytest.raises(exception, match=match) as info:
        yield
    record(case, str(info.value))


def recorded() -> Dict[str, Tuple[str, str]]:
    return dict(_recorded)


def _cell(text: str) -> str:
    return text.replace('|', '\\|')


def render(rows: Dict[str, Tuple[str, str]]) -> str:
    lines = [START, '', '| bad input | message | test |', '|---|---|---|']
    for case in sorted(rows):
        test, msg = rows[case]
        lines.append(f'| {_cell(case)} | {_cell(msg)} | `{test}` |')
    return '\n'.join(lines + ['', END])


def read_table(path: str) -> Optional[Dict[str, Tuple[str, str]]]:
    """The rows of the table in ``path``; None if it has no table."""
    with open(path) as f:
        text = f.read()
    if START not in text or END not in text:
        return None
    body = text.split(START, 1)[1].split(END, 1)[0]
    rows = {}
    for line in body.splitlines():
        if not line.startswith('| ') or line.startswith('| bad input |'):
            continue
        cells = [
            c.strip().replace('\\|', '|')
            for c in re.split(r'(?<!\\)\|', line.strip())[1:-1]
        ]
        if len(cells) == 3:
            rows[cells[0]] = (cells[2].strip('`'), cells[1])
    return rows


def differences(path: str, rows: Dict[str, Tuple[str, str]]) -> List[str]:
    """How the table in ``path`` differs from ``rows`` (rows the file lacks
    or words otherwise; rows of cases not in ``rows`` are not judged)."""
    table = read_table(path)
    if table is None:
        return [f'{path} has no bad-input table (markers {START!r})']
    out = []
    for case, (test, msg) in sorted(rows.items()):
        if case not in table:
            out.append(f'missing row {case!r}: {msg}')
        elif table[case] != (test, msg):
            out.append(f'row {case!r} says {table[case][1]!r} (test '
                       f'{table[case][0]}) but the test got {msg!r} '
                       f'({test})')
    return out


def write_table(path: str,
                rows: Dict[str, Tuple[str, str]],
                rebuild: bool = False) -> None:
    """Put ``rows`` into the table of ``path`` (kept rows of other cases
    unless ``rebuild``); the file must have the markers."""
    from mmal.utils.fileio import atomic_write_text
    table = read_table(path)
    if table is None:
        raise ValueError(f'{path} has no bad-input table markers')
    merged = dict(rows) if rebuild else dict(table, **rows)
    with open(path) as f:
        text = f.read()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    atomic_write_text(head + render(merged) + tail, path)


DOC = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'docs',
    'config.md')
