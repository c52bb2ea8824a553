#!/usr/bin/env bash
# Early, mid and late fusion with 1/10/50/100 % of the fine-tuning data, with and without task-specific
# pre-training (seed 000, Table 5).
#
# Real data: the paper fine-tunes on IP2P (G): InstructPix2Pix image pairs with Vicuna statements, which need
# `raiv make-pairs --generator llm --llm /path/to/vicuna-13b`; by default this recipe uses the Im-Im (T) pairs of
# recipes/raiv_datasets.sh (FUSION_KIND=im-im; PAIRS_DIR=runs/raiv_datasets) and TSP_MEDIA as recipes/raiv_tsp.sh.
# Toy: DATA=toy. ARCHS, FRACTIONS and TSP=1|0 pick the grid.
#
# Runs, per arch and fraction:
#   raiv train srl.jsonl --arch raiv-<fusion> --task itm                           --out runs/itm-raiv-<fusion>
#   raiv train pairs.jsonl --arch raiv-<fusion> --train-fraction F --init runs/itm-... --out runs/<kind>-pairs-<fusion>-F
#   raiv train srl.jsonl --arch raiv-<fusion> --task tsp --sampling cond --init runs/itm-... --out runs/tsp-raiv-<fusion>-cond
#   raiv train pairs.jsonl --arch raiv-<fusion> --train-fraction F --init runs/tsp-... --out runs/...-tsp-F
#
# The paper (accuracy@1 on IP2P):
#   % IP2P     1 %     10 %    50 %    100 %
#   Early      53.11   58.91   63.88   67.48
#   + TSP      63.16   66.17   68.45   71.88
#   Mid        57.13   61.17   65.95   69.29
#   + TSP      64.20   67.47   68.15   71.21
#   Late       56.28   60.91   64.51   68.72
#   + TSP      59.61   63.71   66.18   70.15
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
KINDS="${FUSION_KIND:-im-im}"; TASKS=pairs
source "$(dirname "$0")/lib/raiv.sh"
if [ "$SIZE" = tiny ]; then ARCHS="${ARCHS:-raiv-late}"; FRACTIONS="${FRACTIONS:-0.5 1}"; TSP="${TSP:-0}"
else ARCHS="${ARCHS:-raiv-early raiv-mid raiv-late}"; FRACTIONS="${FRACTIONS:-0.01 0.1 0.5 1}"; TSP="${TSP:-1}"; fi
mkdir -p "$OUT"
raiv_inputs

scored=() names=()
for arch in $ARCHS; do
  ARCH="$arch"
  label="${arch#raiv-}"; label="${label^}"
  variants=(notsp); [ "$TSP" = 1 ] && variants+=(tsp)
  for variant in "${variants[@]}"; do
    init=(--init "$(itm_run "$arch")"); row="$label"
    if [ "$variant" = tsp ]; then init=(--init "$(tsp_run "$arch" cond)"); row="$label + TSP"; fi
    for fraction in $FRACTIONS; do
      name="$arch-$variant-$fraction"
      finetune_grid "$name" --train-fraction "$fraction" "${init[@]}"
      scored+=("$OUT/scored/pairs-$name.jsonl")
      names+=(--name "$row@$("$PYTHON" -c "import sys; print(f'{float(sys.argv[1]) * 100:g} %')" "$fraction")")
    done
  done
done

raiv report "${scored[@]}" "${names[@]}" --format json > "$OUT/table5.json"
"$PYTHON" "$RECIPES_DIR/lib/pivot.py" pair_acc < "$OUT/table5.json" > "$OUT/table5.md"
show_table "$OUT/table5.md"
