#!/usr/bin/env bash
# Makes (once) the project's virtual environment in .venv with the pinned dependencies, and activates it.
# Source it: `source recipes/env.sh`. RAIV_VENV=DIR puts the environment elsewhere.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${RAIV_VENV:-$repo/.venv}"
if [ ! -x "$venv/bin/raiv" ] || [ "$repo/constraints.txt" -nt "$venv/.raiv-installed" ] || [ "$repo/pyproject.toml" -nt "$venv/.raiv-installed" ]; then
  python="$(command -v python3.11 || command -v python3)"
  echo "raiv: setting up $venv with $($python --version) (pinned: constraints.txt; a few minutes the first time)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$repo/constraints.txt" -e "$repo[test]" >&2
  touch "$venv/.raiv-installed"
fi
export PATH="$venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
