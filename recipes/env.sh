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
  # (this machine's pip configuration names package folders that may be absent; those warnings are noise)
  quiet_pip() { "$venv/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2; }
  quiet_pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
  quiet_pip install --quiet --disable-pip-version-check -c "$repo/constraints.txt" -e "$repo[test]"
  touch "$venv/.raiv-installed"
fi
export PATH="$venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
