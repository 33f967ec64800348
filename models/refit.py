"""Refitting the complaint and severity heads of an artifact on its own encoder:
``python -m models refit-heads --data ../shared/data [--heads complaint,severity] [--labels-db URL]
[--artifact DIR] [--out DIR]``, with the recipe of ``models.complaint_heads``.

Under a minute on 2 cores (the adapter and the urgency branch are not retrained). Everything else in
the artifact is kept byte for byte: the adapter, the sentiment head, the heads not named, the urgency
heads and their branch; so the embedding, incident detection and the critical calls stay those of
the artifact refitted. (Tiers can still move: whether a post needs a reply reads the complaint head.)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from models import complaint_heads
from models.adapter import ADAPTER_FILE
from models.heads import ARTIFACT_DIR, META_FILE, WEIGHTS_FILE, Heads, load_heads
from models.urgency_branch import BRANCH_FILE

HEADS = ("complaint", "severity")
# Meta keys each head's recipe writes: the earlier recipe's (xfincorp and airline) are dropped on refit.
META_KEYS = {
    "complaint": ("complaint_c", "complaint_threshold", "complaint_source", "complaint_chosen_by",
                  "complaint_c_cross_domain_f1", "complaint_threshold_cross_domain_f1"),
    "severity": ("severity_c", "severity_c_cv_f1"),
}  # fmt: skip


def refit(data_dir: Path, artifact_dir: Path = ARTIFACT_DIR, out_dir: Path | None = None, labels_db=None,
          twcs_labels: Path = complaint_heads.TWCS_COMPLAINTS, heads: tuple[str, ...] = HEADS) -> Heads:  # fmt: skip
    """The artifact in ``artifact_dir`` with new ``heads`` (of HEADS), written to ``out_dir`` (default:
    in place)."""
    if not heads or set(heads) - set(HEADS):
        raise ValueError(f"heads to refit: some of {', '.join(HEADS)}")
    from models.classifier import build_classifier
    from models.train import read_corrections

    artifact_dir, out_dir = Path(artifact_dir), Path(out_dir or artifact_dir)
    artifact = build_classifier(artifact_dir, branch=False)  # the embedding the heads read
    encoder, old = artifact.encoder, artifact.heads
    twcs = complaint_heads.read_twcs(data_dir, labels=twcs_labels)
    # Corrections label complaints only: a severity refit has no use for them.
    corrections = read_corrections(labels_db) if labels_db and "complaint" in heads else None
    complaint, severity, chosen = complaint_heads.fit(encoder, twcs, corrections)
    replaced = [key for name in heads for key in META_KEYS[name]]
    meta = {key: value for key, value in old.meta.items() if key not in replaced}
    meta.update({key: value for key, value in chosen.items() if key in replaced})
    meta["refitted"] = {"heads": list(heads), "rows": len(twcs), "from": twcs.source,
                        "corrections": len(corrections) if corrections is not None else 0}  # fmt: skip
    fitted = {"complaint": complaint, "severity": severity}
    new = replace(old, meta=meta, **{name: fitted[name] for name in heads})
    if "complaint" in heads:  # one of the answer head's features (models.answer)
        new.drop_answer()
    if out_dir != artifact_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in (ADAPTER_FILE, BRANCH_FILE):
            (out_dir / name).unlink(missing_ok=True)
            if (artifact_dir / name).exists():
                shutil.copyfile(artifact_dir / name, out_dir / name)
    new.save(out_dir)
    return load_heads(out_dir)


def summary(heads: Heads) -> str:
    keys = ("refitted", "complaint_c", "complaint_threshold", "severity_c", "complaint_chosen_by")
    return json.dumps({key: heads.meta.get(key) for key in keys}, indent=2, sort_keys=True) + (
        f"\nwrote {WEIGHTS_FILE} and {META_FILE}"
    )
