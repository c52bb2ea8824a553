#!/usr/bin/env bash
# Hard negatives of the captions (and of a RAIV pair's statement) with the word-list generator, 5 rounds
# (NAVERO's training setting), then an AARO relation test set: exactly one relation edit per negative.
# The masked-LM and mixed generators need a masked LM: add --mlm PATH (see the README).
set -euo pipefail
raiv negate captions.jsonl --generator rule --rounds 5 --seed 0
raiv negate captions.jsonl --generator rule --types relation --seed 0
