#!/usr/bin/env bash
# VideoDistill module ablation (seed 002, Table 4): hard sparse sampling vs uniform and soft sampling, and the
# LA-Gate vs cross-attention, on video-text matching.
#
# The paper ablates on VideoQA (EgoTaskQA, MSRVTT-QA), which the toolbox does not read; this recipe measures the
# same model variants on what `raiv train --arch videodistill` trains on: captioned videos, scored as the choice
# between a caption and its hard negative (AARO acc and acc_hat, the typed AARO test sets). Rows (a) "baseline" and
# (d) "w/o vision refinement" have no switch in the model and are not run.
#
# Real data: MSR-VTT as in recipes/navero_aaro.sh (MSRVTT_RECORDS, MLM); frames are encoded here with patch tokens,
# DENSE=16 per clip, of which the sampler keeps SELECT=4. Toy: DATA=toy. VARIANTS picks the rows.
#
# Runs, per row:
#   raiv encode ... --tokens (dense frames)
#   raiv train aaro_train.jsonl --arch videodistill --frames $DENSE --set select_frames=$SELECT [--set ...]
#   raiv score aaro_test.jsonl --run ... | raiv report
#
# The paper (accuracy, EgoTaskQA / MSRVTT-QA):
#   (b) uniform sampling      41.70  40.92     --set sampling=uniform
#   (c) soft sampling         38.95  38.16     --set sampling=soft
#   (e) cross-attention       40.94  41.17     --set fusion=cross-attention
#   (f) VideoDistill          45.02  44.20     (hard sampling, LA-Gate)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/video_text.sh"
if [ "$DATA" = toy ]; then DENSE="${DENSE:-$TOY_FRAMES}"; SELECT="${SELECT:-$((TOY_FRAMES / 2))}"
else DENSE="${DENSE:-16}"; SELECT="${SELECT:-4}"; fi
if [ "$SIZE" = tiny ]; then VARIANTS="${VARIANTS:-videodistill uniform}"
else VARIANTS="${VARIANTS:-uniform soft cross-attention videodistill}"; fi
declare -A SETTING=([videodistill]="" [uniform]="sampling=uniform" [soft]="sampling=soft"
                    [cross-attention]="fusion=cross-attention")
declare -A ROW=([videodistill]="(f) VideoDistill" [uniform]="(b) uniform sampling" [soft]="(c) soft sampling"
                [cross-attention]="(e) cross-attention")
mkdir -p "$OUT/scored"
video_text_inputs "$DENSE" --tokens
aaro_test
aaro_train navero "${GENERATOR:-$(default_generator)}" "${ROUNDS:-5}"

scored=() names=()
for variant in $VARIANTS; do
  [ -n "${ROW[$variant]+x}" ] || die "unknown variant '$variant' (one of: ${!ROW[*]})"
  set_args=(--set "select_frames=$SELECT"); [ -n "${SETTING[$variant]}" ] && set_args+=(--set "${SETTING[$variant]}")
  train_run "$OUT/runs/$variant" "$TRAIN_FILE" --features "$FEATS" --arch videodistill --frames "$DENSE" "${set_args[@]}"
  score_run "$OUT/runs/$variant" "$AARO_TEST" "$OUT/scored/$variant.jsonl"
  scored+=("$OUT/scored/$variant.jsonl"); names+=(--name "${ROW[$variant]}")
done
report_table table4 --transpose "${scored[@]}" "${names[@]}"
