"""The small trained heads on top of the frozen encoder, and their on-disk artifact.

Each head is a linear layer (multinomial or binary logistic regression), so the artifact is a few
kilobytes of float32 in ``heads.safetensors`` plus ``heads.json`` (metadata and figures).
Inference is plain numpy: no scikit-learn in the workers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from models.adapter import ADAPTER_FILE
from models.answer import ANSWER_TIERS
from models.urgency_branch import BRANCH_FILE
from models.urgency_data import HARMS, TIER_LABELS

ARTIFACT_DIR = Path(__file__).parent / "artifacts"
WEIGHTS_FILE = "heads.safetensors"
META_FILE = "heads.json"
# Order of the rows of each head's weight matrix.
HEAD_CLASSES = {
    "complaint": [1],  # one logit: P(complaint)
    "severity": [1, 2, 3, 4],  # given a complaint
    "sentiment": ["negative", "neutral", "positive"],
    "tier": list(TIER_LABELS),  # the urgency heads (models.urgency_train); an older artifact lacks them
    "harm": list(HARMS),
    "critical": [1],  # one logit: P(critical)
    "answer": list(ANSWER_TIERS),  # reads the other heads' outputs (models.answer), not embeddings
}
URGENCY_HEADS = ("tier", "harm", "critical")
OPTIONAL_HEADS = (*URGENCY_HEADS, "answer")  # an older artifact lacks them


@dataclass
class LinearHead:
    weight: np.ndarray  # (classes, dim); one row for a binary head
    bias: np.ndarray  # (classes,)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight.T + self.bias

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x)
        if z.shape[1] == 1:
            return 1.0 / (1.0 + np.exp(-z[:, 0]))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@dataclass
class Heads:
    complaint: LinearHead
    severity: LinearHead
    sentiment: LinearHead
    meta: dict
    tier: LinearHead | None = None
    harm: LinearHead | None = None
    critical: LinearHead | None = None
    answer: LinearHead | None = None  # fitted on the other heads' outputs: stale once any of them is refitted

    @property
    def complaint_threshold(self) -> float:
        return float(self.meta.get("complaint_threshold", 0.5))

    def drop_answer(self) -> None:
        """After any other head is refitted: the answer head read the old ones' outputs."""
        self.answer = None
        self.meta.pop("answer", None)

    def save(self, directory: Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for name in HEAD_CLASSES:
            head = getattr(self, name)
            if head is None:
                continue
            tensors[f"{name}.weight"] = np.ascontiguousarray(head.weight, dtype=np.float32)
            tensors[f"{name}.bias"] = np.ascontiguousarray(head.bias, dtype=np.float32)
        save_file(tensors, str(directory / WEIGHTS_FILE))
        (directory / META_FILE).write_text(json.dumps(self.meta, indent=2, sort_keys=True) + "\n")
        return directory


def artifact_hash(directory: Path) -> str:
    """Short content hash of the weights (heads, and the encoder's adapter where there is one):
    the model version changes exactly when they do."""
    digest = hashlib.sha256((Path(directory) / WEIGHTS_FILE).read_bytes())
    for extra in (ADAPTER_FILE, BRANCH_FILE):
        if (path := Path(directory) / extra).exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def load_heads(directory: Path | None = None) -> Heads:
    directory = Path(directory or ARTIFACT_DIR)
    tensors = load_file(str(directory / WEIGHTS_FILE))
    meta = json.loads((directory / META_FILE).read_text())
    heads = {
        name: LinearHead(tensors[f"{name}.weight"], tensors[f"{name}.bias"])
        for name in HEAD_CLASSES
        if f"{name}.weight" in tensors or name not in OPTIONAL_HEADS
    }
    return Heads(meta=meta, **heads)
