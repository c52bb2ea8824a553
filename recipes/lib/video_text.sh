# Inputs of the video-text recipes (NAVERO, VideoDistill, VLM); sourced after common.sh.
#
# Real data: MSR-VTT (the papers' main benchmark) as media records, one caption per video, with the split:
#   MSRVTT_RECORDS=data/msrvtt/msrvtt.jsonl: {"id": "video7010", "video": "data/msrvtt/videos/video7010.mp4",
#                                             "caption": "...", "split": "train|val|test"}
#   (e.g. the 9k train videos with one caption each, 1k-A test; DiDeMo and ActivityNet work the same way)
# and, for the masked-LM negatives, a local masked LM: MLM=data/models/distilroberta-base (save_pretrained folder).
# Features: CLIP_MODEL / CLIP_PRETRAINED (default ViT-B-16 / openai), FRAMES per clip.
# Toy: the toy clips' captions (make-pairs --kind vid-text); without MLM the rule generator makes every negative.
# shellcheck shell=bash

# video_text_inputs K [encode args]: sets VT (video-text records with split) and FEATS (their K-frame features).
video_text_inputs() {
  local k="$1"; shift
  VT="$OUT/video_text.jsonl"
  if [ "$DATA" = toy ]; then
    toy_data
    FEATS="$TOY_FEATURES"
    [ -s "$VT" ] || raiv make-pairs "$TOY_RECORDS" --kind vid-text --seed "$SEED" > "$VT"
  else
    MSRVTT_RECORDS="${MSRVTT_RECORDS:-data/msrvtt/msrvtt.jsonl}"
    need_files "download MSR-VTT and write one media record per video (see recipes/lib/video_text.sh)" \
      "$MSRVTT_RECORDS"
    FEATS="${FEATS:-$OUT/feats}"
    if [ ! -e "$FEATS/.recipe-done" ]; then
      log "extract-frames + encode: $MSRVTT_RECORDS -> $FEATS"
      encode_media "$MSRVTT_RECORDS" "$OUT/frames" "$FEATS" "$k" "$@" > "$OUT/media.feats.jsonl"
      touch "$FEATS/.recipe-done"
    fi
    cp "$MSRVTT_RECORDS" "$VT"
  fi
}

# default_generator: mixed where a masked LM is at hand (MLM set, or real data), else rule.
default_generator() {
  if [ -n "${MLM:-}" ] || [ "$DATA" = real ]; then echo mixed; else echo rule; fi
}

# mlm_args GENERATOR: the --mlm argument a generator needs (real data: MLM=data/models/distilroberta-base).
mlm_args() {
  [ "$1" = rule ] && return 0
  local mlm="${MLM:-data/models/distilroberta-base}"
  need_files "a local masked LM for --generator $1 (e.g. distilroberta-base saved with save_pretrained)" "$mlm"
  printf '%s\n' --mlm "$mlm"
}

# aaro_test: the typed AARO test sets of the test split (one edit of one type per negative), all in one file.
aaro_test() {
  AARO_TEST="$OUT/aaro_test.jsonl"
  [ -s "$AARO_TEST" ] && return 0
  local gen mlm
  gen="${TEST_GENERATOR:-$(default_generator)}"
  mapfile -t mlm < <(mlm_args "$gen")
  split_of "$VT" test > "$OUT/test.jsonl"
  for type in action attribute relation object; do
    log "negate: AARO $type test set ($gen)"
    raiv negate "$OUT/test.jsonl" --types "$type" --generator "$gen" "${mlm[@]}" --seed "$SEED"
  done > "$AARO_TEST.part"
  mv "$AARO_TEST.part" "$AARO_TEST"
}

# aaro_train NAME GENERATOR ROUNDS [negate args]: train + val records with NAVERO training negatives; sets TRAIN_FILE.
aaro_train() {
  local name="$1" gen="$2" rounds="$3"; shift 3
  TRAIN_FILE="$OUT/aaro_train-$name.jsonl"
  [ -s "$TRAIN_FILE" ] && return 0
  local mlm
  mapfile -t mlm < <(mlm_args "$gen")
  log "negate: training negatives $name ($gen, $rounds rounds)"
  split_of "$VT" train val | raiv negate --generator "$gen" --rounds "$rounds" "${mlm[@]}" --seed "$SEED" "$@" \
    > "$TRAIN_FILE.part"
  mv "$TRAIN_FILE.part" "$TRAIN_FILE"
}

# old_action_wordlists: a copy of the built-in word lists whose action list is the paper's "Action (old)" one.
old_action_wordlists() {
  local dir="$OUT/wordlists-old-actions"
  if [ ! -e "$dir/action.txt" ]; then
    mkdir -p "$dir"
    cp "$RECIPES_DIR"/../raivtools/text/wordlists/*.txt "$dir/"
    cp "$RECIPES_DIR/../raivtools/text/wordlists/action_old.txt" "$dir/action.txt"
  fi
  echo "$dir"
}
