#!/usr/bin/env bash
# Re-checks three claims of the papers on the toy benchmark, over several seeds, and writes what it measures
# (mean ± spread, and whether each claim holds) to $CLAIMS_MD:
#   1. NAVERO (vtc + vtm + neg-vtm) beats Vanilla (vtc + vtm) on every AARO type, in acc and acc_hat
#      (NAVERO Table 2; recipes/navero_aaro.sh);
#   2. task-specific pre-training with conditional sampling is at least as good as random sampling
#      (RAIV Table 6; recipes/raiv_sampling.sh);
#   3. the data-fraction curve of RAIV Table 5: accuracy grows with the fine-tuning data (recipes/raiv_fusion.sh).
#
#   bash recipes/toy_claims.sh                       # SEEDS="0 1 2", SIZE=full: about 20 minutes a seed on 2 cores
#   SEEDS="0 1" SIZE=tiny bash recipes/toy_claims.sh # a quick look
#
# Each seed makes its own toy set (synth --seed) and trains with that seed; runs go to $OUT/seed<N>/, and a
# re-run redoes only what is missing. Grid variables of the recipes (LOSSES, KINDS, TASKS, ARCHS, FRACTIONS,
# FUSION_KIND, TSP, EPOCHS, WIDTH, TOY_N, ITM_EPOCHS, PAIRS_PER_ITEM, ...) pass through. The full-size defaults are
# the grid examples/claims/claims.md was measured with, sized for 2 CPU cores: 600 toy items, width-64 models,
# Vid-Vid pairs (10 statements per video) for both RAIV claims, raiv-late only, Table 5 without TSP.
set -euo pipefail
RECIPE=toy_claims
source "$(dirname "$0")/lib/common.sh"
SEEDS="${SEEDS:-0 1 2}"
CLAIMS_MD="${CLAIMS_MD:-$OUT/claims.md}"
if [ "$SIZE" = full ]; then WIDTH="${WIDTH:-64}"; TASKS="${TASKS:-pairs reason}"; else TASKS="${TASKS:-pairs}"; fi
export DATA=toy SIZE DEVICE TOY_N TOY_FRAMES TOY_CLIP_EPOCHS EPOCHS BATCH WIDTH TASKS
export LOSSES="${LOSSES:-vanilla navero}" TABLE3=0 TSP="${TSP:-0}" KINDS="${KINDS:-vid-vid}" \
  ARCHS="${ARCHS:-raiv-late}" FUSION_KIND="${FUSION_KIND:-vid-vid}"
mkdir -p "$OUT"

for seed in $SEEDS; do
  dir="$OUT/seed$seed"
  log "seed $seed: NAVERO vs Vanilla"
  SEED="$seed" OUT="$dir/navero" bash "$RECIPES_DIR/navero_aaro.sh" > /dev/null
  log "seed $seed: TSP cond vs rand"
  SEED="$seed" OUT="$dir/sampling" bash "$RECIPES_DIR/raiv_sampling.sh" > /dev/null
  log "seed $seed: data fraction"
  SEED="$seed" OUT="$dir/fusion" bash "$RECIPES_DIR/raiv_fusion.sh" > /dev/null
done

grid="KINDS=\"$KINDS\" TASKS=\"$TASKS\" ARCHS=\"$ARCHS\" FUSION_KIND=$FUSION_KIND TSP=$TSP"
settings="Seeds: $SEEDS. Toy benchmark: $TOY_N items (SIZE=$SIZE), $TOY_FRAMES frames per clip, features from a tiny CLIP trained \
for $TOY_CLIP_EPOCHS epochs on the training split (no pretrained encoder offline); epochs: $EPOCHS, batch $BATCH${WIDTH:+, model width $WIDTH}; \
grid: $grid. Made by \`SEEDS=\"$SEEDS\" SIZE=$SIZE $grid bash recipes/toy_claims.sh\` at \
$(cd "$RECIPES_DIR/.." && git rev-parse --short HEAD 2>/dev/null || echo '?')."
mkdir -p "$(dirname "$CLAIMS_MD")"
"$PYTHON" "$RECIPES_DIR/lib/claims.py" "$OUT" "$settings" > "$CLAIMS_MD.part"
mv "$CLAIMS_MD.part" "$CLAIMS_MD"
cat "$CLAIMS_MD"
