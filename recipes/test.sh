#!/usr/bin/env bash
# The test command: sets up .venv if needed (pinned installs), then runs the whole test suite offline.
#   bash recipes/test.sh            # everything
#   bash recipes/test.sh -k store   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
source recipes/env.sh
# pytest exits 5 when it collected no test: that is a failure here, as any non-zero exit is.
exec python -m pytest "$@"
