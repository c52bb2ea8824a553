#!/usr/bin/env bash
# Run from this directory after ../extract_frames/run.sh; prints the records (also kept in media.feats.jsonl). A tiny random CLIP (tiny-clip.json) keeps it offline;
# with real weights pass e.g. --model ViT-B-32 --pretrained /path/to/open_clip_pytorch_model.bin.
set -euo pipefail
cd ../extract_frames
raiv encode media.frames.jsonl --model-config ../encode/tiny-clip.json --pretrained none --device cpu \
    --text-field caption --tokens --out ../encode/feats/ --overwrite | tee ../encode/media.feats.jsonl
