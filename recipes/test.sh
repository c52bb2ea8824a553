#!/usr/bin/env bash
# The test command: sets up .venv if needed (pinned installs), then runs the whole test suite offline.
#   bash recipes/test.sh            # everything
#   bash recipes/test.sh -k store   # extra arguments go to pytest
#   RAIV_SLOW_TESTS= bash recipes/test.sh   # without the recipe runs and the torchrun test
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/env.sh
# every recipe at its tiny toy size and the two-process torchrun run too (about 2.5 minutes of the total);
# RAIV_SLOW_TESTS= (empty) leaves them out for a quicker look
export RAIV_SLOW_TESTS="${RAIV_SLOW_TESTS-1}"
# pytest exits 5 when it collected no test: that is a failure here, as any non-zero exit is.
exec python -m pytest "$@"
