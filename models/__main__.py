"""``python -m models classify | evaluate | train | refit-heads | train-urgency | rechoose-thresholds | urgency-report |
report``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.heads import ARTIFACT_DIR


def classify(stdin=sys.stdin, stdout=sys.stdout, batch_lines: int = 64) -> None:
    """JSON lines in, one JSON line out per input line, in order; a bad line gets an "error"."""
    from models.classifier import load_classifier
    from triage.urgency import decide  # the policy, a rule above the model: this command is an entry point

    clf = load_classifier()

    def flush(pending):
        valid = [(i, item) for i, item in enumerate(pending) if "error" not in item]
        predictions = clf.predict([item["text"] for _, item in valid]) if valid else []
        for (i, item), p in zip(valid, predictions, strict=True):
            decision = decide(p, item["text"], followers=None, repeat_contacts=0)
            pending[i] = {
                "id": item["id"],
                "complaint": round(p.complaint, 4),
                "severity": p.severity,
                "urgency": decision.tier,
                "needs_reply": decision.needs_reply,
            }
        for item in pending:
            stdout.write(json.dumps(item) + "\n")
        stdout.flush()

    pending: list[dict] = []
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        pending.append(_parse_line(line, number))
        # Batches amortise the encoder call; flushing per batch keeps a pipe responsive.
        if len(pending) >= batch_lines:
            flush(pending)
            pending = []
    if pending:
        flush(pending)


def _parse_line(line: str, number: int) -> dict:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"id": None, "line": number, "error": f"invalid JSON: {exc.msg}"}
    if not isinstance(item, dict):
        return {"id": None, "line": number, "error": "expected a JSON object"}
    if not isinstance(item.get("text"), str):
        return {"id": item.get("id"), "line": number, "error": "'text' must be a string"}
    return {"id": item.get("id"), "text": item["text"]}


def _rechoose_command(commands) -> None:
    rechoose = commands.add_parser("rechoose-thresholds",
                                   help="the urgency thresholds the code now chooses, on kept probe probabilities")
    rechoose.add_argument("--probes", type=Path, help="a train-urgency --keep-probes file")
    rechoose.add_argument("--held-pair", type=int, action="append", default=[], metavar="N",
                          help="instead: the artifact's own probabilities on spent test pair N (repeatable)")
    _held_pair_options(rechoose, "with --held-pair: write them into the artifact",
                       "with --held-pair: find at least the real critical posts this artifact finds there")  # fmt: skip


def _answer_command(commands) -> None:
    fit = commands.add_parser("fit-answer", help="fit the answer head (models.answer) on spent test pairs")
    fit.add_argument("--held-pair", type=int, action="append", required=True, metavar="N",
                     help="a spent test pair the artifact never trained on (repeatable; each is held out in turn)")
    _held_pair_options(fit, "write the head and silent_at into the artifact",
                       "leave no more posts needing a reply silent than this artifact does there")


def _held_pair_options(command, write: str, against: str) -> None:
    """The options the commands that choose on held pairs share: which artifact, the data, --write, --against."""
    command.add_argument("--artifact", type=Path, default=ARTIFACT_DIR)
    command.add_argument("--data", type=Path, default=Path("../shared/data"), help="../shared/data")
    command.add_argument("--write", action="store_true", help=write)
    command.add_argument("--against", type=Path, metavar="SHIPPED", help=against)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("classify", help="JSON lines {id, text} on stdin -> predictions on stdout")
    evaluate = commands.add_parser("evaluate", help="macro-F1 and confusion matrices on a CSV")
    evaluate.add_argument("--data", required=True, help="CSV with text and is_complaint/severity")
    evaluate.add_argument(
        "--texts",
        help="CSV with tweet_id and text, for a --data file that has tweet_id instead of text "
        "(models/data/twcs_labels.csv with ../shared/data/twcs_5000.csv)",
    )
    evaluate.add_argument("--split", help="only the rows of this split (a --data file with a split column)")
    evaluate.add_argument("--artifact", type=Path, default=ARTIFACT_DIR)
    train = commands.add_parser("train", help="fit the heads and write the artifact")
    train.add_argument("--xfincorp", required=True)
    train.add_argument("--airline", required=True)
    train.add_argument("--labels-db", help="SQLAlchemy URL of the database with agent labels")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, default=ARTIFACT_DIR)
    train.add_argument(
        "--adapter-steps", type=int, default=None, metavar="N",
        help="batches of adapter (LoRA) training before the heads; 0 keeps the frozen encoder",
    )
    train.add_argument("--adapter-urgency", action="store_true",
                       help="the adapter also learns the urgency rows (EVALUATION.md: better urgency, worse incidents)")
    train.add_argument("--no-urgency-branch", action="store_true",
                       help="the urgency heads read the shipped embedding, without their own last block")
    refit = commands.add_parser("refit-heads", help="refit complaint/severity heads (models.complaint_heads)")
    refit.add_argument("--data", type=Path, required=True, help="../shared/data (the real tweets' texts)")
    refit.add_argument("--heads", default="complaint,severity", help="which heads to refit (comma-separated)")
    refit.add_argument("--labels-db", help="SQLAlchemy URL of the database with agent labels")
    refit.add_argument("--artifact", type=Path, default=ARTIFACT_DIR)
    refit.add_argument("--out", type=Path, help="where to write the artifact (default: in place)")
    urgency = commands.add_parser("train-urgency", help="fit the urgency heads into the artifact")
    urgency.add_argument("--data", type=Path, required=True, help="../shared/data (the real tweets' texts)")
    urgency.add_argument("--artifact", type=Path, default=ARTIFACT_DIR)
    urgency.add_argument("--seed", type=int, default=0)
    urgency.add_argument("--branch", action="store_true",
                         help="also train the urgency branch (a second last block the urgency heads read)")
    urgency.add_argument("--keep-probes", type=Path, metavar="FILE.npz",
                         help="with --branch: keep the probes' held-out probabilities (rechoose-thresholds)")
    urgency.add_argument("--held-pair", type=int, metavar="N",
                         help="with --branch: no probes; the thresholds chosen on spent test pair N, not trained on")
    _rechoose_command(commands)
    _answer_command(commands)
    urgency_report = commands.add_parser("urgency-report", help="score urgency on its test sets (EVALUATION.md)")
    urgency_report.add_argument("--data", type=Path, required=True, help="../shared/data")
    urgency_report.add_argument("--out", type=Path, default=Path(__file__).parent / "EVALUATION.md")
    urgency_report.add_argument("--baseline", type=Path, action="append", default=[],
                                help="another artifact, scored alongside (repeatable)")
    report = commands.add_parser("report", help="regenerate EVALUATION.md")
    report.add_argument("--xfincorp", required=True)
    report.add_argument("--airline", required=True)
    report.add_argument("--twcs", help="twcs_5000.csv, for the hand-labelled real-tweet check")
    report.add_argument("--compare-encoder", action="append", default=[], metavar="DIR")
    report.add_argument("--seed", type=int, default=0)
    report.add_argument("--out", type=Path, default=Path(__file__).parent / "EVALUATION.md")
    report.add_argument("--urgency-baseline", type=Path, action="append", default=[],
                        help="another artifact, scored alongside on urgency (repeatable)")
    return parser


def _urgency_training(args) -> None:
    if args.command == "train-urgency":
        from models.urgency_recipe import train_urgency

        meta = train_urgency(args.data, args.artifact, seed=args.seed, branch=args.branch, keep_probes=args.keep_probes,
                             held_pair=args.held_pair)  # fmt: skip
        print(json.dumps(meta, indent=2, sort_keys=True))
        print(f"wrote {args.artifact}")
    elif args.command == "rechoose-thresholds":
        from models.urgency_recipe import rechoose, rechoose_on_pairs

        if bool(args.probes) == bool(args.held_pair):
            raise SystemExit("rechoose-thresholds: give either --probes or --held-pair")
        chosen = rechoose(args.probes) if args.probes else \
            rechoose_on_pairs(args.data, args.artifact, args.held_pair, args.write, _against(args))  # fmt: skip
        print(json.dumps(chosen, indent=2, sort_keys=True))
    elif args.command == "fit-answer":
        from models.answer_fit import fit_answer
        from triage.urgency import decide

        print(json.dumps(fit_answer(args.data, args.artifact, args.held_pair, decide, write=args.write,
                                    against=_against(args)), indent=2, sort_keys=True))  # fmt: skip


def _against(args) -> dict | None:
    """The shipped artifact's counts on the held pairs (``models.held_comparator``), where asked for."""
    if not args.against:
        return None
    from models.held_comparator import on_held
    from triage.urgency import decide

    return on_held(args.data, args.against, args.held_pair, decide)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)

    if args.command == "classify":
        classify()
    elif args.command == "evaluate":
        from models.classifier import build_classifier
        from models.evaluate import evaluate_file

        print(evaluate_file(args.data, build_classifier(args.artifact), args.texts, args.split))
    elif args.command == "train":
        from models.adapter import STEPS
        from models.train import train as train_heads

        steps = STEPS if args.adapter_steps is None else args.adapter_steps
        heads = train_heads(
            args.xfincorp, args.airline, args.labels_db, args.seed, args.out, adapter_steps=steps,
            urgency_data=Path(args.xfincorp).parent,  # the urgency heads read the same folder
            adapter_urgency=args.adapter_urgency, urgency_branch=not args.no_urgency_branch,
        )
        print(json.dumps(heads.meta, indent=2, sort_keys=True))
        print(f"wrote {args.out}")
    elif args.command == "refit-heads":
        from models.refit import refit, summary

        heads = tuple(name.strip() for name in args.heads.split(",") if name.strip())
        print(summary(refit(args.data, args.artifact, args.out, args.labels_db, heads=heads)))
    elif args.command in ("train-urgency", "rechoose-thresholds", "fit-answer"):
        _urgency_training(args)
    elif args.command == "urgency-report":
        from models.urgency_eval import report as urgency_report
        from triage.urgency import decide

        print(urgency_report(args.data, args.out, decide, baseline=args.baseline))
    else:
        from models.report import write_report
        from triage.urgency import decide

        write_report(
            args.xfincorp, args.airline, args.compare_encoder, args.seed, args.out, args.twcs, decide=decide,
            urgency_baseline=args.urgency_baseline,
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
