#!/usr/bin/env bash
# The main job, offline, on the built-in toy benchmark, end to end:
#   synth -> srl -> make-pairs (+ reasoning) -> negate (training negatives, typed AARO test sets)
#   -> extract-frames -> train a toy CLIP -> encode -> train (RAIV late fusion, pre-trained with --task itm and
#   fine-tuned on the pairs; NAVERO vanilla and NAVERO) -> score -> report
# Sets up .venv on first use (pinned installs). Prints the tables at the end and writes them as markdown
# to $OUT/tables.md. About 9 minutes on 2 cores once .venv exists (measured: 9m06s with the defaults below).
#
#   bash recipes/quickstart.sh                 # everything under runs/quickstart
#   OUT=/tmp/qs N=400 EPOCHS=4 ITM_EPOCHS=10 bash recipes/quickstart.sh   # smaller and faster
#
# No pretrained weights are needed (or reachable) here. A tiny CLIP (recipes/lib/toy-clip.json) is trained
# on the training split's frames and captions (`raiv train --arch clip`), encodes every frame, and its text
# tower starts the models' text encoders (`--init-text store`), as a pretrained CLIP does on real data.
# A CLIP with random weights keeps only the background of a toy frame; the trained one also sees colours and
# shapes. On real data pass `--model ViT-B-32 --pretrained /path/to/weights` to `raiv encode` instead.
# RAIV fine-tunes METER, a pre-trained image-text model; none loads here, so raiv-late is first pre-trained on the
# toy captions and their single-video facts (`--task itm`), then fine-tuned on the pairs with a small body
# learning rate and a 100x faster head (examples/claims/toy-features.md measured these settings).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
source "$repo/recipes/env.sh"

OUT="${OUT:-runs/quickstart}"   # where data, features, runs and tables go
N="${N:-1000}"                  # toy items (clips and stills)
SEED="${SEED:-0}"
EPOCHS="${EPOCHS:-15}"          # training epochs of the pair model's fine-tuning and of NAVERO
ITM_EPOCHS="${ITM_EPOCHS:-60}"  # epochs of the pair model's --task itm pre-training
PAIRS_PER_ITEM="${PAIRS_PER_ITEM:-10}"  # RAIV statements per video (make-pairs --pairs-per-item)
CLIP_EPOCHS="${CLIP_EPOCHS:-40}"  # training epochs of the toy CLIP
# small models that train on a CPU; their text encoders start as the toy CLIP's text tower (width 64, 2 layers),
# of which NAVERO's second layer also cross-attends to the video (its first gives the unimodal text embedding)
MODEL=(--set width=64 --init-text store)
PAIR_MODEL=("${MODEL[@]}" --set fusion_layers=2)
NAVERO_MODEL=("${MODEL[@]}" --set fusion_layers=1)

mkdir -p "$OUT"
cd "$OUT"
steps=12
step() { printf '\n== [%s/%s] %s  (%dm%02ds)\n' "$1" "$steps" "$2" $((SECONDS / 60)) $((SECONDS % 60)) >&2; }
SECONDS=0

step 1 "raiv synth: $N toy clips and stills with exact ground truth"
raiv synth --out toy --n "$N" --seed "$SEED" --size 64 --overwrite > toy.jsonl

step 2 "raiv srl: semantic roles parsed from the captions"
raiv srl toy.jsonl > toy.srl.jsonl

step 3 "raiv make-pairs: RAIV video-video True/False statements with the reasoning multiple choice"
raiv make-pairs toy.srl.jsonl --kind vid-vid --reasoning --pairs-per-item "$PAIRS_PER_ITEM" --seed "$SEED" > pairs.jsonl

step 4 "raiv negate: 5-round hard negatives for training, and one typed AARO test set per edit type"
raiv make-pairs toy.srl.jsonl --kind vid-text --seed "$SEED" > captions.jsonl
raiv negate captions.jsonl --rounds 5 --generator rule --seed "$SEED" > aaro_train.jsonl
for type in action attribute relation object; do
  # the test split only (records are compact JSON, so a fixed string finds the field)
  raiv negate captions.jsonl --types "$type" --generator rule --seed "$SEED" | grep -F '"split":"test"' > "aaro_test_$type.jsonl"
done
cat aaro_test_{action,attribute,relation,object}.jsonl > aaro_test.jsonl

step 5 "raiv extract-frames: 4 frames per clip (stills give one), at the toy CLIP's 64 px"
raiv extract-frames toy.jsonl --frames 4 --size 64 --out frames --overwrite > toy.frames.jsonl

step 6 "raiv train --arch clip: a toy CLIP on the training split's frames and captions"
rm -rf runs  # a re-run trains every model anew
raiv train toy.frames.jsonl --features frames --arch clip --set "clip_model=$repo/recipes/lib/toy-clip.json" \
  --epochs "$CLIP_EPOCHS" --batch-size 128 --lr 1e-3 --seed "$SEED" --out runs/clip 2>&1 | grep -v wrote | tail -n 2 >&2

step 7 "raiv encode: per-frame features with the toy CLIP"
raiv encode toy.frames.jsonl --model-config runs/clip/toy-clip.json --pretrained runs/clip/open_clip.pt \
  --out feats --overwrite > toy.feats.jsonl

step 8 "raiv train --task itm: raiv-late pre-trained to match single videos with their captions and facts"
raiv train toy.srl.jsonl --features feats --arch raiv-late --task itm --out runs/itm --epochs "$ITM_EPOCHS" \
  --lr 5e-4 --seed "$SEED" "${PAIR_MODEL[@]}" 2>&1 | tail -n 2 >&2

step 9 "raiv train --arch raiv-late --init runs/itm: RAIV late fusion fine-tuned on the pairs"
raiv train pairs.jsonl --features feats --arch raiv-late --init runs/itm --out runs/raiv-late \
  --epochs "$EPOCHS" --lr 2e-5 --head-lr-mult 100 --seed "$SEED" 2>&1 | tail -n 3 >&2

step 10 "raiv train --arch navero: vanilla (vtc+vtm) and NAVERO (vtc+vtm+neg-vtm) on the captions"
for loss in vanilla navero; do
  raiv train aaro_train.jsonl --features feats --arch navero --loss "$loss" --out "runs/$loss" \
    --epochs "$EPOCHS" --seed "$SEED" "${NAVERO_MODEL[@]}" 2>&1 | tail -n 3 >&2
done

step 11 "raiv score: test pairs and the typed AARO test sets"
grep -F '"split":"test"' pairs.jsonl | raiv score --run runs/raiv-late > scored_pairs.jsonl
for loss in vanilla navero; do
  raiv score aaro_test.jsonl --run "runs/$loss" > "scored_aaro_$loss.jsonl"
done

step 12 "raiv report: the papers' tables"
{
  echo "## RAIV pairs (raiv-late), accuracy by template"
  echo
  raiv report scored_pairs.jsonl --name raiv-late --by template --format markdown
  echo
  echo "## AARO: vanilla vs NAVERO by negative type (acc, acc_hat)"
  echo
  raiv report scored_aaro_vanilla.jsonl scored_aaro_navero.jsonl --name vanilla --name navero \
    --by neg_type --format markdown
} > tables.md
raiv report --plot curves.png --run runs/raiv-late --run runs/vanilla --run runs/navero
cat tables.md
printf '\nraiv quickstart: done in %dm%02ds; tables in %s/tables.md, training curves in %s/curves.png\n' \
  $((SECONDS / 60)) $((SECONDS % 60)) "$OUT" "$OUT" >&2
