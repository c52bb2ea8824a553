#!/usr/bin/env bash
# raiv make-pairs on the SRL records of examples/srl (run from this folder; prints expected.jsonl):
# image pairs with reasoning choices, image-video pairs with two extra templates, video pairs, and
# video-text records for raiv negate. Counts per split, label and template go to stderr.
set -euo pipefail
raiv make-pairs srl.jsonl --kind im-im --reasoning --seed 0
raiv make-pairs srl.jsonl --kind im-vid --templates my_templates.json --seed 0
raiv make-pairs srl.jsonl --kind vid-vid --pairs-per-item 1 --seed 0
raiv make-pairs srl.jsonl --kind vid-text --seed 0
