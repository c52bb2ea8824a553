"""Table 1 of the RAIV paper (seed 000) from pair files: unique visual items and sentences, instances per split.

Usage: python table1.py NAME=pairs.jsonl ... > table1.md   (stdlib only, so any Python 3 runs it)
"""

import json
import sys


def count(path: str) -> dict:
    """Counts one pair file: unique media ids (U-Im), unique statements (U-S), instances per split (I-*)."""
    media, statements, splits, reasoning = set(), set(), {"train": 0, "val": 0, "test": 0}, 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            pair = json.loads(line)
            media.update((pair["left"]["id"], pair["right"]["id"]))
            statements.add(pair["statement"])
            splits[pair.get("split", "train")] = splits.get(pair.get("split", "train"), 0) + 1
            reasoning += "reason" in pair
    return {"U-Im": len(media), "U-S": len(statements), "I-Tr": splits["train"], "I-Val": splits["val"],
            "I-Test": splits["test"], "I-Tot": sum(splits.values()), "Reasoning": reasoning}


def main(args: list[str]) -> None:
    """Prints one markdown row per NAME=FILE argument."""
    columns = ["U-Im", "U-S", "I-Tr", "I-Val", "I-Test", "I-Tot", "Reasoning"]
    print("| dataset | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for arg in args:
        name, path = arg.split("=", 1)
        row = count(path)
        print(f"| {name} | " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
