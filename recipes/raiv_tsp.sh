#!/usr/bin/env bash
# RAIV True/False and reasoning accuracy with and without task-specific pre-training (seed 000, Tables 2 and 3).
#
# Real data: run recipes/raiv_datasets.sh first (VidSitu + imSitu pairs), and provide the task-specific
# pre-training media TSP_MEDIA=data/tsp/coco_vatex.jsonl (COCO Captions images and VATEX-en clips with a
# caption each; see recipes/lib/raiv.sh). Features: CLIP_MODEL=ViT-B-16 CLIP_PRETRAINED=/path/to/openai.pt.
# Toy: DATA=toy (task-specific pre-training on the toy train split). KINDS, TASKS, ARCH pick the grid.
#
# Runs, per kind (im-im, im-vid, vid-vid) and task (pairs = Table 2, reason = Table 3):
#   raiv train srl.jsonl --arch raiv-late --task itm --out runs/itm-raiv-late   (stands in for METER's pre-training)
#   raiv train srl.jsonl --arch raiv-late --task tsp --sampling cond --init runs/itm-raiv-late --out runs/tsp-raiv-late-cond
#   raiv train <kind>.jsonl --arch raiv-late --task <task> --init runs/itm-... --out runs/<kind>-<task>-notsp
#   raiv train <kind>.jsonl --arch raiv-late --task <task> --init runs/tsp-... --out runs/<kind>-<task>-cond
# and scores each on the kind's test split.
#
# The paper (METER, accuracy@1; "ImgAll" = METER's image pre-training, here the frozen CLIP features):
#   Table 2 (True/False)          Im-Im (T)  Im-Vid (T)  Vid-Vid (T)
#     majority voting                 50.00       50.00        50.00
#     no pre-training                 57.23       52.53        51.84
#     ImgAll, no TSP                  70.61       65.64        59.34
#     ImgAll + TSP COCO + VTX         74.12       68.30        61.82
#   Table 3 (reasoning, 3-way)
#     majority voting                 33.33       33.33        33.33
#     no pre-training                 34.29       34.37        34.37
#     ImgAll, no TSP                  56.32       49.86        44.73
#     ImgAll + TSP COCO + VTX         64.11       56.32        51.85
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/raiv.sh"
mkdir -p "$OUT"
raiv_inputs

finetune_grid notsp --init "$(itm_run "$ARCH")"
tsp="$(tsp_run "$ARCH" cond)"
finetune_grid cond --init "$tsp"

for task in $TASKS; do
  table="table2"; [ "$task" = reason ] && table="table3"
  report_table "$table" --transpose "$OUT/scored/$task-notsp.jsonl" "$OUT/scored/$task-cond.jsonl" \
    --name "no TSP" --name "+ TSP (cond)" --by kind
done
