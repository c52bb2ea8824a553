# The RAIV recipes' inputs and fine-tuning grid (seed 000); sourced after common.sh.
#
# Real data: the pairs and SRL records of recipes/raiv_datasets.sh (PAIRS_DIR=runs/raiv_datasets), their media
# encoded here once into $PAIRS_DIR/feats (CLIP_MODEL=ViT-B-16 CLIP_PRETRAINED=openai: METER's CLIP-ViT-B/16),
# and the task-specific pre-training data: COCO Captions images + VATEX-en clips as media records with a caption,
#   TSP_MEDIA=data/tsp/coco_vatex.jsonl: {"id", "image": path} or {"id", "video": path, "start", "end"}, "caption"
# (one record per image or clip; the paper takes 2 s around the AVA-Kinetics keyframe of 5.7k VATEX videos).
#
# Also read here: ITM_EPOCHS [tiny 1, full 60] and ITM_LR [5e-4] of the itm pre-training every RAIV model starts
# from, FT_LR [2e-5] and FT_HEAD_LR_MULT [100] of everything trained after it (tsp and fine-tuning), and the
# statements per item: PAIRS_PER_ITEM [tiny 1, full 10] of the toy pair files (make-pairs --pairs-per-item) and
# TSP_PAIRS_PER_ITEM [tiny 1, full 10] mined per item and epoch by tsp_run (train --pairs-per-item).
# shellcheck shell=bash

ARCH="${ARCH:-raiv-late}"  # METER's late fusion, the paper's default
if [ "$SIZE" = tiny ]; then KINDS="${KINDS:-vid-vid}"; TASKS="${TASKS:-pairs}"; ITM_EPOCHS="${ITM_EPOCHS:-1}"; per_item=1
else KINDS="${KINDS:-im-im im-vid vid-vid}"; TASKS="${TASKS:-pairs reason}"; ITM_EPOCHS="${ITM_EPOCHS:-60}"; per_item=10; fi
# toy-features.md: fine-tuning on one statement per video stays at chance, on ten it learns
PAIRS_PER_ITEM="${PAIRS_PER_ITEM:-$per_item}"; TSP_PAIRS_PER_ITEM="${TSP_PAIRS_PER_ITEM:-$per_item}"
ITM_LR="${ITM_LR:-5e-4}"  # itm_run's learning rate (examples/claims/toy-features.md: 60 epochs at 5e-4)
# Everything after itm_run starts from a pre-trained fusion: a small body lr keeps its grounding, the new head
# learns at FT_LR x FT_HEAD_LR_MULT (toy-features.md measured 2e-5 x 100).
FT_LR="${FT_LR:-2e-5}"; FT_HEAD_LR_MULT="${FT_HEAD_LR_MULT:-100}"

# raiv_inputs: sets FEATS (store of the pairs' media), PAIR_FILE_<kind> via pair_file, TSP_SRL and TSP_FEATS.
raiv_inputs() {
  if [ "$DATA" = toy ]; then
    toy_data
    FEATS="$TOY_FEATURES"; TSP_FEATS="$TOY_FEATURES"
    PAIRS_DIR="$OUT/pairs"; mkdir -p "$PAIRS_DIR"
    # Task-specific pre-training mines pairs from the toy set's own train split (train uses split "train" only).
    TSP_SRL="$TOY_RECORDS"
    for kind in $KINDS; do
      [ -s "$(pair_file "$kind")" ] && continue
      log "make-pairs: $kind"
      raiv make-pairs "$TOY_RECORDS" --kind "$kind" --reasoning --pairs-per-item "$PAIRS_PER_ITEM" --seed "$SEED" \
        > "$(pair_file "$kind").part"
      mv "$(pair_file "$kind").part" "$(pair_file "$kind")"
    done
  else
    PAIRS_DIR="${PAIRS_DIR:-runs/raiv_datasets}"
    for kind in $KINDS; do need_files "run recipes/raiv_datasets.sh first" "$(pair_file "$kind")"; done
    need_files "run recipes/raiv_datasets.sh first" "$PAIRS_DIR/imsitu.jsonl" "$PAIRS_DIR/vidsitu.jsonl"
    FEATS="${FEATS:-$PAIRS_DIR/feats}"
    if [ ! -e "$FEATS/.recipe-done" ]; then
      log "extract-frames + encode: imSitu and VidSitu media -> $FEATS"
      cat "$PAIRS_DIR/imsitu.jsonl" "$PAIRS_DIR/vidsitu.jsonl" \
        | encode_media - "$PAIRS_DIR/frames" "$FEATS" 4 > "$PAIRS_DIR/media.feats.jsonl"
      touch "$FEATS/.recipe-done"
    fi
    TSP_MEDIA="${TSP_MEDIA:-data/tsp/coco_vatex.jsonl}"
    need_files "make COCO Captions + VATEX-en media records with captions (see recipes/lib/raiv.sh)" "$TSP_MEDIA"
    TSP_SRL="$OUT/tsp.srl.jsonl"; TSP_FEATS="$OUT/tsp_feats"
    if [ ! -e "$TSP_FEATS/.recipe-done" ]; then
      log "srl + extract-frames + encode: task-specific pre-training media"
      raiv srl "$TSP_MEDIA" > "$TSP_SRL"
      encode_media "$TSP_SRL" "$OUT/tsp_frames" "$TSP_FEATS" 4 > "$OUT/tsp.feats.jsonl"
      touch "$TSP_FEATS/.recipe-done"
    fi
  fi
}

# pair_file KIND: the pair records of a kind (im-im -> $PAIRS_DIR/im_im.jsonl).
pair_file() { echo "$PAIRS_DIR/${1//-/_}.jsonl"; }

# itm_run ARCH: the stand-in for METER's pre-training that RAIV fine-tunes (no METER checkpoint loads here):
# `--task itm` on the pre-training media's captions and their facts, once per arch; prints the run dir.
itm_run() {
  local run="$OUT/runs/itm-$1"
  local TRAIN_ARGS=("${TRAIN_ARGS[@]}" --epochs "$ITM_EPOCHS")  # train_run's; the last --epochs counts
  train_run "$run" "$TSP_SRL" --features "$TSP_FEATS" --arch "$1" --task itm --lr "$ITM_LR" --init-text store >&2
  echo "$run"
}

# tsp_run ARCH SAMPLING: task-specific pre-training (`--task tsp`) from itm_run's encoder, once per arch and
# sampling; prints the run dir.
tsp_run() {
  local run="$OUT/runs/tsp-$1-$2" itm
  itm="$(itm_run "$1")"
  train_run "$run" "$TSP_SRL" --features "$TSP_FEATS" --arch "$1" --task tsp --sampling "$2" --init "$itm" \
    --pairs-per-item "$TSP_PAIRS_PER_ITEM" --lr "$FT_LR" --head-lr-mult "$FT_HEAD_LR_MULT" >&2
  echo "$run"
}

# finetune_grid NAME [TRAIN ARGS...]: fine-tunes on every kind x task; appends each kind's scored test records
# to $OUT/scored/<task>-NAME.jsonl (so one report groups them by kind).
finetune_grid() {
  local name="$1"; shift
  mkdir -p "$OUT/scored" "$OUT/test"
  for task in $TASKS; do
    : > "$OUT/scored/$task-$name.jsonl"
    for kind in $KINDS; do
      local test="$OUT/test/${kind//-/_}.jsonl" run="$OUT/runs/$kind-$task-$name"
      [ -s "$test" ] || split_of "$(pair_file "$kind")" test > "$test"
      train_run "$run" "$(pair_file "$kind")" --features "$FEATS" --arch "$ARCH" --task "$task" \
        --lr "$FT_LR" --head-lr-mult "$FT_HEAD_LR_MULT" "$@"
      score_run "$run" "$test" "$OUT/scored/$kind-$task-$name.jsonl"
      cat "$OUT/scored/$kind-$task-$name.jsonl" >> "$OUT/scored/$task-$name.jsonl"
    done
  done
}
