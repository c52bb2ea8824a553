#!/usr/bin/env bash
# VLM: task-agnostic pre-training with the masked modality model, then text-video retrieval (seed 003, Tables 2
# and 8: the pre-training ablations).
#
# Real data: the paper pre-trains on HowTo100M and fine-tunes on MSR-VTT / Youcook2. PRETRAIN_RECORDS (default:
# the fine-tuning train split) takes any captioned media records with features in the same store, e.g. HowTo100M
# clips with their ASR text; MSR-VTT as in recipes/navero_aaro.sh (MSRVTT_RECORDS). Toy: DATA=toy.
# ROWS picks the Table 8 rows: vlm (MMM 50 %), mmm0 (MMM 0 %), mfm-mlm (the MFM-MLM loss), scratch (no pre-training).
#
# Runs, per row:
#   raiv train pretrain.jsonl --arch vlm --loss pretrain [--set mmm_probability=0 | --loss mfm-mlm] --out runs/<row>-pt
#   raiv train train.jsonl --arch vlm --loss finetune --init runs/<row>-pt --out runs/<row>
#   raiv score test.jsonl --run runs/<row> --task retrieval | raiv report
#
# The paper (text-to-video R@1 / R@5 / R@10 / median rank):
#   MSR-VTT (Table 2)   VLM               28.10  55.50  67.40  4
#   Youcook2 (Table 8)  w/ MMM 50 %       27.05  56.88  69.38  4
#                       w/ MMM 0 %        15.12  39.47  52.81  9
#                       w/ L_MFM-MLM      26.93  55.92  69.86  4
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/video_text.sh"
if [ "$SIZE" = tiny ]; then ROWS="${ROWS:-vlm}"; else ROWS="${ROWS:-vlm mmm0 mfm-mlm scratch}"; fi
declare -A PRETRAIN=([vlm]="--loss pretrain" [mmm0]="--loss pretrain --set mmm_probability=0"
                     [mfm-mlm]="--loss mfm-mlm" [scratch]="")
declare -A ROW=([vlm]="VLM (MMM 50 %)" [mmm0]="MMM 0 %" [mfm-mlm]="L_MFM-MLM" [scratch]="no pre-training")
mkdir -p "$OUT/scored"
video_text_inputs "${FRAMES:-4}"
split_of "$VT" train val > "$OUT/train.jsonl"
split_of "$VT" test > "$OUT/test.jsonl"
PRETRAIN_RECORDS="${PRETRAIN_RECORDS:-$OUT/train.jsonl}"

scored=() names=()
for row in $ROWS; do
  [ -n "${ROW[$row]+x}" ] || die "unknown row '$row' (one of: ${!ROW[*]})"
  init=()
  if [ -n "${PRETRAIN[$row]}" ]; then
    read -r -a pretrain <<< "${PRETRAIN[$row]}"
    train_run "$OUT/runs/$row-pt" "$PRETRAIN_RECORDS" --features "$FEATS" --arch vlm "${pretrain[@]}"
    init=(--init "$OUT/runs/$row-pt")
  fi
  train_run "$OUT/runs/$row" "$OUT/train.jsonl" --features "$FEATS" --arch vlm --loss finetune "${init[@]}"
  score_run "$OUT/runs/$row" "$OUT/test.jsonl" "$OUT/scored/$row.jsonl" --task retrieval
  scored+=("$OUT/scored/$row.jsonl"); names+=(--name "${ROW[$row]}")
done
report_table table8 --transpose "${scored[@]}" "${names[@]}"
