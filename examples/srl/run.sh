#!/usr/bin/env bash
# raiv srl on its three kinds of input (run from this folder; prints SRL records, expected.jsonl):
#   VidSitu vsann files (one record per 2-second event; the valid file has 3 annotations per segment),
#   an imSitu split with its space file (one record per image, majority roles), and captions (spaCy parse).
set -euo pipefail
raiv srl --from vidsitu vsann_train_lb.json vsann_valid_lb.json --video-root clips --split auto
raiv srl --from imsitu train.json --space imsitu_space.json --image-root of500_images --split auto
raiv srl captions.jsonl
