"""`raiv score`: add a trained model's scores to records."""

from __future__ import annotations

import click

from raivtools.commands._options import CONTEXT, input_paths


@click.command(context_settings=CONTEXT)
@input_paths
@click.option("--run", "--run-dir", "run_dir", required=True, type=click.Path(file_okay=False),
              help="Run directory of raiv train (--run-dir is the same, for torchrun, which claims --run).")
@click.option("--checkpoint", default="best", show_default=True, help="best, last, or a checkpoint file.")
@click.option("--features", default=None, type=click.Path(file_okay=False),
              help="Feature store of the records' media (default: the one the run trained with).")
@click.option("--task", type=click.Choice(("scores", "retrieval")), default="scores", show_default=True,
              help="retrieval: also rank every caption against every video (all records together).")
@click.option("--rerank", type=click.IntRange(min=0), default=0, show_default=True,
              help="retrieval: re-score each caption's top K videos (and each video's top K captions) with the "
                   "matching head, as VindLU; 0 ranks by embedding cosine alone.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--chunk", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Records read and scored at a time (memory bound; retrieval reads everything).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--precision", type=click.Choice(("fp32", "bf16", "fp16")), default="fp32", show_default=True)
def main(inputs, run_dir, checkpoint, features, task, rerank, batch_size, chunk, device, precision):
    """Score RECORDS with the model of --run; write the records with scores to stdout, in order.

    Pair records get "score" = p(true) (and, with a "reason", "reason_scores" per choice and "reason_pred");
    records with a "negative" get "score": {"pos": p(T|V), "neg": p(Tneg|V)}; --task retrieval adds
    "rank_t2v" and "rank_v2t" (1-based, ties pessimistic). Records whose media have no features get
    "status": "error"; records that arrive with "status": "error" pass through untouched. Under torchrun
    every rank scores its share and rank 0 writes.

    \b
    Example:
      raiv score pairs_test.jsonl --run runs/late > scored.jsonl
      raiv score aaro_test.jsonl --run runs/navero --task retrieval | raiv report --by neg_type
      torchrun --nproc-per-node 4 -m raivtools score big.jsonl --run-dir runs/late > big.scored.jsonl
    """
    from raivtools.score import run_score

    run_score(inputs, run_dir, checkpoint, features, task, batch_size, chunk, device, precision, rerank)
