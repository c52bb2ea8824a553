#!/usr/bin/env bash
# Conditional vs random pair sampling in task-specific pre-training (seed 000, Table 6).
#
# Real data: as recipes/raiv_tsp.sh (run recipes/raiv_datasets.sh first; TSP_MEDIA=data/tsp/coco_vatex.jsonl).
# Toy: DATA=toy. KINDS, TASKS, ARCH pick the grid. With the same OUT as raiv_tsp.sh, its cond runs are reused.
#
# Runs:
#   raiv train srl.jsonl --arch raiv-late --task itm --out runs/itm-raiv-late   (stands in for METER's pre-training)
#   raiv train srl.jsonl --arch raiv-late --task tsp --sampling cond --init runs/itm-raiv-late --out runs/tsp-raiv-late-cond
#   raiv train srl.jsonl --arch raiv-late --task tsp --sampling rand --init runs/itm-raiv-late --out runs/tsp-raiv-late-rand
#   raiv train <kind>.jsonl --task <task> --init runs/tsp-raiv-late-<sampling> --out runs/<kind>-<task>-<sampling>
#
# The paper (accuracy@1, TSP on COCO + VTX):
#   task       dataset       Rand    Cond
#   RAIV       Im-Im (T)     72.67   74.12
#              Im-Vid (T)    67.10   68.30
#              Vid-Vid (T)   60.64   61.82
#   Reasoning  Im-Im (T)     59.55   64.11
#              Im-Vid (T)    52.15   56.32
#              Vid-Vid (T)   48.87   51.85
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/raiv.sh"
mkdir -p "$OUT"
raiv_inputs

for sampling in rand cond; do
  tsp="$(tsp_run "$ARCH" "$sampling")"
  finetune_grid "$sampling" --init "$tsp"
done

for task in $TASKS; do
  report_table "table6-$task" "$OUT/scored/$task-rand.jsonl" "$OUT/scored/$task-cond.jsonl" --name Rand --name Cond \
    --by kind
done
