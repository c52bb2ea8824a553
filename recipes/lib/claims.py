"""Aggregates the toy-claims runs of several seeds into one markdown report (mean ± sample std over seeds).

Usage: python claims.py CLAIMS_DIR SETTINGS_LINE > claims.md   (stdlib only)
CLAIMS_DIR/seed<N>/{navero/table2.json, sampling/table6-<task>.json, fusion/table5.json}: `raiv report --format
json` outputs of recipes/navero_aaro.sh, recipes/raiv_sampling.sh and recipes/raiv_fusion.sh for seed N.
"""

import json
import os
import statistics
import sys
from pathlib import Path

AARO_TYPES = ["action", "attribute", "relation", "object", "avg"]
KIND_ORDER = ["im-im", "im-vid", "vid-vid"]
FUSION_KIND = os.environ.get("FUSION_KIND", "im-im")  # the pairs raiv_fusion.sh fine-tuned on (its default)


def values(report: dict, metric: str, field: str | None) -> dict:
    """{(group, run): value} of one metric; group is the `field` group, "avg" or "all"."""
    found = {}
    for row in report["rows"]:
        if row["metric"] != metric:
            continue
        group = row["group"].get(field) if row["row"] == "group" and field else row["row"]
        for run, value in row["values"].items():
            if value is not None:
                found[group, run] = value["value"]
    return found


def spread(samples: list[float]) -> str:
    """'mean ± std' of the seeds (std 0 with one seed)."""
    if not samples:
        return "-"
    std = statistics.stdev(samples) if len(samples) > 1 else 0.0
    return f"{statistics.mean(samples):.2f} ± {std:.2f}"


def compare(per_seed: list[dict], group: str, base: str, new: str, strict: bool) -> list[str]:
    """Cells: base, new, new - base, seeds where new wins, verdict on the means."""
    pairs = [(s[group, base], s[group, new]) for s in per_seed if (group, base) in s and (group, new) in s]
    if not pairs:
        return ["-"] * 5
    diffs = [n - b for b, n in pairs]
    wins = sum(d > 0 if strict else d >= 0 for d in diffs)
    mean = statistics.mean(diffs)
    std = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    holds = mean > 0 if strict else mean >= 0
    verdict = "holds" if holds else "does not hold"
    if len(diffs) > 1 and abs(mean) <= std:
        verdict += " (within the spread)"
    return [spread([b for b, _ in pairs]), spread([n for _, n in pairs]), spread(diffs), f"{wins}/{len(diffs)}",
            verdict]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def load(seeds: list[Path], name: str) -> list[dict]:
    return [json.loads((s / name).read_text(encoding="utf-8")) for s in seeds if (s / name).exists()]


def navero_section(seeds: list[Path]) -> str:
    reports = load(seeds, "navero/table2.json")
    rows = []
    for metric, label in (("aaro_acc", "acc"), ("aaro_acc_hat", "acc_hat")):
        per_seed = [values(r, metric, "neg_type") for r in reports]
        for group in AARO_TYPES:
            rows.append([group, label, *compare(per_seed, group, "Vanilla", "NAVERO", strict=True)])
    return ("## NAVERO (neg-vtm) beats Vanilla on every AARO type, in acc and acc_hat (NAVERO Table 2)\n\n"
            f"{len(reports)} seeds. `recipes/navero_aaro.sh` with `LOSSES=\"vanilla navero\"`.\n\n"
            + table(["AARO type", "metric", "Vanilla", "NAVERO", "NAVERO - Vanilla", "seeds NAVERO ahead", "claim"],
                    rows))


def sampling_section(seeds: list[Path]) -> str:
    parts = []
    for task, metric, label in (("pairs", "pair_acc", "True/False accuracy@1"),
                                ("reason", "reason_acc", "reasoning acc@1")):
        reports = load(seeds, f"sampling/table6-{task}.json")
        if not reports:
            continue
        per_seed = [values(r, metric, "kind") for r in reports]
        groups = sorted({g for s in per_seed for g, _ in s}, key=lambda g: (KIND_ORDER + ["avg", "all"]).index(g)
                        if g in KIND_ORDER + ["avg", "all"] else 99)
        rows = [[label, g, *compare(per_seed, g, "Rand", "Cond", strict=False)] for g in groups]
        parts.append(table(["task", "kind", "Rand", "Cond", "Cond - Rand", "seeds Cond >= Rand", "claim"], rows))
    return ("## Task-specific pre-training: conditional sampling is at least as good as random (RAIV Table 6)\n\n"
            "`recipes/raiv_sampling.sh` (TSP on the toy train split, then fine-tuning).\n\n" + "\n\n".join(parts))


def fraction_section(seeds: list[Path]) -> str:
    reports = load(seeds, "fusion/table5.json")
    per_seed = [values(r, "pair_acc", None) for r in reports]
    runs = list(dict.fromkeys(run for s in per_seed for _, run in s))
    arches = list(dict.fromkeys(run.partition("@")[0] for run in runs))
    fractions = list(dict.fromkeys(run.partition("@")[2] for run in runs))
    rows = []
    for arch in arches:
        cells = [spread([s["all", f"{arch}@{f}"] for s in per_seed if ("all", f"{arch}@{f}") in s]) for f in fractions]
        steps = [(a, b, compare(per_seed, "all", f"{arch}@{a}", f"{arch}@{b}", strict=False)) for a, b
                 in zip(fractions, fractions[1:])]
        first_last = compare(per_seed, "all", f"{arch}@{fractions[0]}", f"{arch}@{fractions[-1]}", strict=True)
        rows.append([arch, *cells, first_last[2], fraction_verdict(steps, first_last)])
    return ("## The data-fraction curve: accuracy grows with the fine-tuning data (RAIV Table 5)\n\n"
            f"{len(reports)} seeds. `recipes/raiv_fusion.sh` (accuracy@1 on the test split of the "
            f"{FUSION_KIND} pairs). A step between two fractions counts as a fall only "
            "when its mean drop is larger than the spread of the per-seed drops.\n\n"
            + table(["fusion", *fractions, "last - first", "claim"], rows))


def fraction_verdict(steps: list[tuple[str, str, list[str]]], first_last: list[str]) -> str:
    """'rises with the data' unless the whole curve does not rise or a step falls beyond the spread."""
    if first_last[-1].startswith("does not hold"):
        return "does not rise (last - first)"
    falls = [f"{a} -> {b}" for a, b, cells in steps if cells[-1] == "does not hold"]
    dips = [f"{a} -> {b}" for a, b, cells in steps if cells[-1] == "does not hold (within the spread)"]
    if falls:
        return "does not rise monotonically: falls at " + ", ".join(falls)
    return "rises with the data" + (f" (dips within the spread at {', '.join(dips)})" if dips else "")


def tsp_section(seeds: list[Path]) -> str:
    """Table 2's claim from runs the other sections already made: the fusion recipe's 100 % run (itm pre-training,
    then fine-tuning) is the sampling recipe's Cond run without task-specific pre-training, on the same pairs."""
    per_seed = []
    for seed in seeds:
        fusion, sampling = load([seed], "fusion/table5.json"), load([seed], "sampling/table6-pairs.json")
        if fusion and sampling:
            cond = values(sampling[0], "pair_acc", "kind").get((FUSION_KIND, "Cond"))
            no_tsp = values(fusion[0], "pair_acc", None).get(("all", "Late@100 %"))
            if cond is not None and no_tsp is not None:
                per_seed.append({("all", "no TSP"): no_tsp, ("all", "TSP"): cond})
    if not per_seed:
        return ""
    row = ["True/False accuracy@1", FUSION_KIND, *compare(per_seed, "all", "no TSP", "TSP", strict=True)]
    return ("## Task-specific pre-training helps (RAIV Table 2)\n\n"
            f"{len(per_seed)} seeds. raiv-late on the {FUSION_KIND} pairs, both from the same `--task itm` pre-training: "
            "fine-tuned directly (`raiv_fusion.sh`, 100 %) or after task-specific pre-training with conditional "
            "sampling (`raiv_sampling.sh`, Cond).\n\n"
            + table(["task", "kind", "no TSP", "+ TSP (cond)", "TSP - no TSP", "seeds TSP ahead", "claim"], [row]))


def main(claims_dir: str, settings: str) -> None:
    seeds = sorted(p for p in Path(claims_dir).glob("seed*") if p.is_dir())
    print("# The papers' claims on the toy benchmark\n")
    print(f"{settings}\n")
    print("Mean ± sample standard deviation over the seeds; a seed's toy set, splits and training all change with "
          "it. A claim \"holds\" when the mean difference has the paper's sign; \"within the spread\" when that "
          "mean is no larger than the standard deviation of the per-seed differences (so the seeds do not settle it).\n")
    for section in (navero_section, sampling_section, fraction_section, tsp_section):
        text = section(seeds)
        if text:
            print(text + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
