#!/usr/bin/env bash
# RAIV datasets from VidSitu and imSitu (seed 000, §4.1, Table 1): SRL records -> Im-Im, Im-Vid, Vid-Vid
# True/False pairs with the 3-way reasoning multiple choice, and their statistics.
#
# Real data (DATA=real, the default) — download and put:
#   VidSitu annotations (https://github.com/TanmayGupta/vidsitu, vidsitu_annotations/vseg_ann_lb):
#       $VIDSITU_DIR/vsann_train_lb.json, $VIDSITU_DIR/vsann_valid_lb.json          [VIDSITU_DIR=data/vidsitu]
#     and the 10-second segment clips as $VIDSITU_DIR/clips/<segment>.mp4 (needed by the training recipes)
#   imSitu (https://github.com/my89/imSitu): train.json, dev.json, test.json, imsitu_space.json in $IMSITU_DIR,
#     the images in $IMSITU_DIR/of500_images/                                          [IMSITU_DIR=data/imsitu]
# Toy (DATA=toy): the toy stills stand in for imSitu and the toy clips for VidSitu.
#
# Writes $OUT/{imsitu,vidsitu}.jsonl (SRL records), $OUT/{im_im,im_vid,vid_vid}.jsonl (pairs; the training
# recipes read them from here) and $OUT/table1.md. PAIRS_N: instances per dataset (default: the paper's ~150k on
# real data; 2 per item on toy data).
#
# The paper's Table 1 (template rows):
#   dataset      U-Im   U-S   I-Tr    I-Val  I-Test  I-Tot
#   Im-Im (T)    63k    54k   94.5k   13.5k  27k     135k
#   Im-Vid (T)   169k   65k   109.9k  15.7k  31.4k   157k
#   Vid-Vid (T)  106k   62k   104.3k  14.9k  29.8k   149k
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
mkdir -p "$OUT"

if [ "$DATA" = toy ]; then
  toy_data
  grep '"image"' "$TOY_RECORDS" > "$OUT/imsitu.jsonl" || true
  grep '"video"' "$TOY_RECORDS" > "$OUT/vidsitu.jsonl" || true
  size_args=(--pairs-per-item "${PAIRS_PER_ITEM:-2}")
else
  VIDSITU_DIR="${VIDSITU_DIR:-data/vidsitu}"
  IMSITU_DIR="${IMSITU_DIR:-data/imsitu}"
  need_files "download the VidSitu annotations (vidsitu_annotations/vseg_ann_lb) into $VIDSITU_DIR" \
    "$VIDSITU_DIR/vsann_train_lb.json" "$VIDSITU_DIR/vsann_valid_lb.json"
  need_files "download imSitu (train.json, dev.json, test.json, imsitu_space.json) into $IMSITU_DIR" \
    "$IMSITU_DIR/train.json" "$IMSITU_DIR/dev.json" "$IMSITU_DIR/test.json" "$IMSITU_DIR/imsitu_space.json"
  log "srl: VidSitu events"
  raiv srl --from vidsitu "$VIDSITU_DIR/vsann_train_lb.json" "$VIDSITU_DIR/vsann_valid_lb.json" \
      --video-root "$VIDSITU_DIR/clips" --split auto > "$OUT/vidsitu.jsonl"
  log "srl: imSitu images"
  raiv srl --from imsitu "$IMSITU_DIR/train.json" "$IMSITU_DIR/dev.json" "$IMSITU_DIR/test.json" \
      --space "$IMSITU_DIR/imsitu_space.json" --image-root "$IMSITU_DIR/of500_images" --split auto > "$OUT/imsitu.jsonl"
  size_args=(--n "${PAIRS_N:-150000}")
fi

log "make-pairs: Im-Im"
raiv make-pairs "$OUT/imsitu.jsonl" --kind im-im --reasoning --seed "$SEED" "${size_args[@]}" > "$OUT/im_im.jsonl"
log "make-pairs: Im-Vid"
raiv make-pairs "$OUT/imsitu.jsonl" "$OUT/vidsitu.jsonl" --kind im-vid --reasoning --seed "$SEED" "${size_args[@]}" \
    > "$OUT/im_vid.jsonl"
log "make-pairs: Vid-Vid"
raiv make-pairs "$OUT/vidsitu.jsonl" --kind vid-vid --reasoning --seed "$SEED" "${size_args[@]}" > "$OUT/vid_vid.jsonl"

"$PYTHON" "$RECIPES_DIR/lib/table1.py" "Im-Im (T)=$OUT/im_im.jsonl" "Im-Vid (T)=$OUT/im_vid.jsonl" \
    "Vid-Vid (T)=$OUT/vid_vid.jsonl" > "$OUT/table1.md"
show_table "$OUT/table1.md"
