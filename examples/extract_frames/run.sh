#!/usr/bin/env bash
# Run from this directory: four frames per clip window, one per image, into frames/; errors become records.
set -euo pipefail
raiv extract-frames media.jsonl --frames 4 --size 32 --out frames/ --overwrite | tee media.frames.jsonl
