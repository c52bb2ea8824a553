# Shared shell functions of the paper recipes (source it; do not run it).
#
# Every recipe reads these environment variables:
#   DATA=real|toy   real data (paths from the recipe's own variables) or the built-in toy benchmark  [real]
#   SIZE=full|tiny  tiny: a CI-sized run (40 toy items, 1 epoch, width-32 models)                     [full]
#   OUT=DIR         where runs, records and tables go                                 [runs/<recipe>]
#   SEED=N          --seed of every command                                                          [0]
#   DEVICE=auto|cpu|cuda|cuda:N                                                                   [auto]
#   EPOCHS, BATCH, WIDTH   override the size's training settings
#   RAIV_TOY_CACHE=DIR     where toy data is made once and reused        [~/.cache/raiv/toy]
#   TOY_CLIP_EPOCHS=N      epochs of the toy CLIP that encodes the toy frames         [tiny 1, full 40]
# shellcheck shell=bash

RECIPES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RECIPE="${RECIPE:-$(basename "${BASH_SOURCE[1]:-recipe}" .sh)}"
DATA="${DATA:-real}"
SIZE="${SIZE:-full}"
SEED="${SEED:-0}"
DEVICE="${DEVICE:-auto}"
OUT="${OUT:-runs/$RECIPE}"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"

case "$DATA" in real|toy) ;; *) echo "$RECIPE: DATA must be real or toy, not '$DATA'" >&2; exit 2 ;; esac
case "$SIZE" in
  tiny) TOY_N="${TOY_N:-40}"; TOY_FRAMES="${TOY_FRAMES:-4}"; EPOCHS="${EPOCHS:-1}"; BATCH="${BATCH:-16}"
        WIDTH="${WIDTH:-32}"; TOY_CLIP_EPOCHS="${TOY_CLIP_EPOCHS:-1}" ;;
  full) TOY_N="${TOY_N:-600}"; TOY_FRAMES="${TOY_FRAMES:-8}"; EPOCHS="${EPOCHS:-10}"; BATCH="${BATCH:-32}"
        WIDTH="${WIDTH:-}"; TOY_CLIP_EPOCHS="${TOY_CLIP_EPOCHS:-40}" ;;
  *) echo "$RECIPE: SIZE must be full or tiny, not '$SIZE'" >&2; exit 2 ;;
esac

# log MESSAGE...: progress on stderr, prefixed with the recipe's name and the time.
log() { printf '[%s %s] %s\n' "$RECIPE" "$(date +%H:%M:%S)" "$*" >&2; }

# die MESSAGE...: stop the recipe with exit 2.
die() { printf '%s: %s\n' "$RECIPE" "$*" >&2; exit 2; }

# need_files WHAT_TO_DOWNLOAD FILE...: stop with a message naming the download when a file is missing.
need_files() {
  local what="$1"; shift
  local missing=()
  for f in "$@"; do [ -e "$f" ] || missing+=("$f"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  die "missing ${missing[*]}: $what (or run on the toy benchmark: DATA=toy bash recipes/$RECIPE.sh)"
}

command -v raiv >/dev/null 2>&1 || die "no 'raiv' on PATH: run 'source recipes/env.sh' first"

# train_args: the size's training settings, as arguments of `raiv train`.
train_args() {
  local args=(--epochs "$EPOCHS" --batch-size "$BATCH" --device "$DEVICE" --seed "$SEED")
  [ -n "$WIDTH" ] && args+=(--set "width=$WIDTH")
  printf '%s\n' "${args[@]}"
}
mapfile -t TRAIN_ARGS < <(train_args)

# toy_data: makes the toy benchmark once (synth -> extract-frames -> a toy CLIP trained on the training split's
# frames and captions, `raiv train --arch clip` -> encode with it) into a cache directory keyed by its settings,
# and sets TOY_DIR (the cache), TOY_RECORDS (media records with srl, split, frames and features), TOY_FEATURES
# (store). Ids carry the seed (synth-<seed>-<index>), so two seeds' caches never clash.
toy_data() {
  local seed="${1:-$SEED}"
  local cache="${RAIV_TOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raiv/toy}"
  TOY_DIR="$cache/n${TOY_N}-seed${seed}-k${TOY_FRAMES}-clip${TOY_CLIP_EPOCHS}"
  TOY_RECORDS="$TOY_DIR/toy.feats.jsonl"
  TOY_FEATURES="$TOY_DIR/feats"
  if [ -e "$TOY_DIR/done" ]; then
    log "toy data: $TOY_DIR (cached)"
    return 0
  fi
  log "toy data: making $TOY_N items (seed $seed, $TOY_FRAMES frames, toy CLIP $TOY_CLIP_EPOCHS epochs) in $TOY_DIR"
  mkdir -p "$cache"
  local tmp
  tmp="$(mktemp -d "$cache/.making.XXXXXX")"
  raiv synth --out "$tmp/toy" --n "$TOY_N" --seed "$seed" --size 64 --workers 2 > "$tmp/toy.jsonl"
  raiv extract-frames "$tmp/toy.jsonl" --frames "$TOY_FRAMES" --sampling uniform --size 64 --workers 2 \
      --out "$tmp/frames" > "$tmp/toy.frames.jsonl"
  raiv train "$tmp/toy.frames.jsonl" --features "$tmp/frames" --arch clip \
      --set "clip_model=$RECIPES_DIR/lib/toy-clip.json" --epochs "$TOY_CLIP_EPOCHS" --batch-size 128 --lr 1e-3 \
      --device "$DEVICE" --seed "$seed" --out "$tmp/clip" 2>&1 | grep -v wrote | tail -n 1 >&2
  raiv encode "$tmp/toy.frames.jsonl" --model-config "$tmp/clip/toy-clip.json" --pretrained "$tmp/clip/open_clip.pt" \
      --tokens --text-field caption --device cpu --seed "$seed" --out "$tmp/feats" > "$tmp/toy.feats.jsonl"
  # The stores and records name the directory they were made in; make them name the cache instead.
  sed "s#$tmp#$TOY_DIR#g" "$tmp/toy.feats.jsonl" > "$tmp/toy.feats.jsonl.new" && mv "$tmp/toy.feats.jsonl.new" "$tmp/toy.feats.jsonl"
  sed "s#$tmp#$TOY_DIR#g" "$tmp/feats/store.json" > "$tmp/store.json.new" && mv "$tmp/store.json.new" "$tmp/feats/store.json"
  touch "$tmp/done"
  rm -rf "$TOY_DIR"
  mv "$tmp" "$TOY_DIR" 2>/dev/null || { rm -rf "$tmp"; [ -e "$TOY_DIR/done" ] || die "could not make $TOY_DIR"; }
}

# encode_media RECORDS FRAMES_DIR FEATS_DIR K [extra encode args]: real media -> frame store -> CLIP features;
# prints the records with features. CLIP_MODEL / CLIP_PRETRAINED pick the encoder (default ViT-B-16, openai).
encode_media() {
  local records="$1" frames="$2" feats="$3" k="$4"; shift 4
  raiv extract-frames "$records" --frames "$k" --out "$frames" --resume \
    | raiv encode --model "${CLIP_MODEL:-ViT-B-16}" --pretrained "${CLIP_PRETRAINED:-openai}" --device "$DEVICE" \
        --out "$feats" --resume "$@"
}

# split_of FILE SPLIT...: the records of FILE whose split is one of SPLIT (stdlib Python, no jq needed).
split_of() {
  local file="$1"; shift
  "$PYTHON" -c '
import json, sys
keep = set(sys.argv[2:])
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        if line.strip() and json.loads(line).get("split") in keep:
            sys.stdout.write(line)
' "$file" "$@"
}

# show_table FILE...: print a finished table on stdout, after a rule naming it.
show_table() {
  for f in "$@"; do echo; echo "== $f"; cat "$f"; done
}
# report_table NAME [--transpose] REPORT_ARGS...: `raiv report REPORT_ARGS...` written to $OUT/NAME.md (markdown,
# runs as rows with --transpose) and $OUT/NAME.json (what lib/claims.py and other scripts read), then shown.
report_table() {
  local name="$1" shape=(); shift
  if [ "${1:-}" = --transpose ]; then shape=(--transpose); shift; fi
  raiv report "$@" "${shape[@]}" --format markdown > "$OUT/$name.md"
  raiv report "$@" --format json > "$OUT/$name.json"
  show_table "$OUT/$name.md"
}

# train_run RUN_DIR ARGS...: `raiv train ARGS... --out RUN_DIR` with the size's settings; skipped when RUN_DIR
# finished before (a recipe re-run redoes only what is missing), resumed from last.pt when it was interrupted.
train_run() {
  local run="$1"; shift
  if [ -e "$run/.recipe-done" ]; then log "train: $run (finished before)"; return 0; fi
  local resume=()
  [ -e "$run/last.pt" ] && resume=(--resume)
  log "train: $run"
  raiv train "$@" "${TRAIN_ARGS[@]}" --out "$run" "${resume[@]}"
  touch "$run/.recipe-done"
}

# score_run RUN_DIR RECORDS SCORED [ARGS...]: `raiv score RECORDS --run RUN_DIR ARGS... > SCORED`; skipped when
# SCORED is newer than both the run and the records.
score_run() {
  local run="$1" records="$2" scored="$3"; shift 3
  if [ -s "$scored" ] && [ "$scored" -nt "$run/.recipe-done" ] && [ "$scored" -nt "$records" ]; then
    log "score: $scored (scored before)"; return 0
  fi
  log "score: $run on $records"
  raiv score "$records" --run "$run" --device "$DEVICE" "$@" > "$scored.part"
  mv "$scored.part" "$scored"
}
