#!/usr/bin/env bash
# The test suite: sets up the environment if needed, then runs pytest.
#   bash tools/run_tests.sh [pytest args]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
exec "$PY" -m pytest "$@"
