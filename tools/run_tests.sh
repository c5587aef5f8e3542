#!/usr/bin/env bash
# The test suite: sets up the environment if needed, then runs pytest.
#   bash tools/run_tests.sh [pytest args]
# Two pytest-xdist workers by default (the suite is mostly one-core work:
# subprocess start-ups, small models), test files kept whole on one worker;
# MMAL_TEST_WORKERS=0 runs in this process. Rewriting the bad-input table
# (MMAL_WRITE_REFUSALS=1) merges each worker's rows under a lock; dropping
# the rows of removed tests (MMAL_WRITE_REFUSALS=rebuild) runs in this
# process. Each worker runs torch on one thread (OMP_NUM_THREADS=1 unless
# set).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
WORKERS=${MMAL_TEST_WORKERS:-2}
if [ "${MMAL_WRITE_REFUSALS:-}" = "rebuild" ]; then WORKERS=0; fi
if [ "$WORKERS" = "0" ]; then exec "$PY" -m pytest "$@"; fi
# One OpenMP thread per worker (and per loop the tests start): with as many
# workers as cores, torch's default of a thread per core oversubscribes the
# cores and made the suite about twice as slow.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "$PY" -m pytest -n "$WORKERS" --dist loadfile "$@"
