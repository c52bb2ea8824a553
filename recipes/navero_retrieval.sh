#!/usr/bin/env bash
# Text-video retrieval of Vanilla and NAVERO models: does negative augmentation cost retrieval? (seed 004, Table 6)
#
# Real data: as recipes/navero_aaro.sh (MSRVTT_RECORDS, MLM). Toy: DATA=toy.
# RUNS_FROM=DIR reuses the runs/vanilla and runs/navero of a finished navero_aaro.sh run (same data) instead of
# training them again.
#
# Runs:
#   raiv train aaro_train.jsonl --arch navero --loss vanilla --out runs/vanilla     (vtc + vtm)
#   raiv train aaro_train.jsonl --arch navero --loss navero  --out runs/navero      (vtc + vtm + neg-vtm)
#   raiv score test.jsonl --run runs/<loss> --task retrieval --rerank $RERANK | raiv report
#
# The paper (text-to-video R@1 / R@5 / R@10 / avg):
#              MSRVTT                   DiDeMo                   ActivityNet
#   Vanilla    42.8  69.2  79.3  63.8   53.4  81.1  88.9  74.5   51.1  78.4  87.8  72.4
#   NAVERO     43.1  70.0  79.5  64.2   54.2  80.5  87.6  74.1   50.7  78.5  87.2  72.1
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/video_text.sh"
RERANK="${RERANK:-0}"
mkdir -p "$OUT/scored"
video_text_inputs "${FRAMES:-4}"
split_of "$VT" test > "$OUT/test.jsonl"

scored=() names=()
for loss in vanilla navero; do
  run="$OUT/runs/$loss"
  if [ -n "${RUNS_FROM:-}" ]; then
    run="$RUNS_FROM/runs/$loss"
    need_files "run recipes/navero_aaro.sh with OUT=$RUNS_FROM first" "$run/config.json"
  else
    aaro_train navero "${GENERATOR:-$(default_generator)}" "${ROUNDS:-5}"
    train_run "$run" "$TRAIN_FILE" --features "$FEATS" --arch navero --loss "$loss"
  fi
  score_run "$run" "$OUT/test.jsonl" "$OUT/scored/$loss.jsonl" --task retrieval --rerank "$RERANK"
  scored+=("$OUT/scored/$loss.jsonl")
done
names=(--name Vanilla --name NAVERO)
report_table table6 --transpose "${scored[@]}" "${names[@]}"
