"""The urgency branch: a second copy of the encoder's last transformer block, tuned on the urgency rows.

The encoder's first five blocks run once; the last block runs twice on their output, as shipped
(complaint, severity and the incident clustering read that embedding, unchanged to the bit) and
as the branch, whose mean-pooled embedding only the urgency heads read. An adapter that learned
urgency in every block drew posts of one urgency together whatever their subject and broke
incident grouping (EVALUATION.md, ``2b16f873``); the branch cannot, and costs one block of six.

Training is cheap: the inputs of the last block are computed once per text (``capture``), so a
step runs one block. The branch learns low-rank updates (``models.adapter``'s LoRALinear) of the
block's six linear layers, with the tier, critical and harm losses (``UrgencyLoss``; in the first two,
hand-written calm posts and real critical tweets weigh more within their tier,
``urgency_data.row_weights``) and a term that keeps the batch's pairwise similarities near the
shipped embedding's (SIMILARITY_WEIGHT). The artifact is those matrices (``BRANCH_FILE``); loading
merges them into a copy of the block.

Branches trained since ``PRECISION`` was set run their linear layers in bfloat16 (inputs rounded,
sums in float32, outputs float32; layer norms and attention stay float32) where the CPU multiplies
bfloat16 natively (AVX-512 BF16 or AMX): those products run about twice as fast, and the whole
model went from a median 145 to 150 texts/s on 2 cores (README, "Measured"). The heads are fitted
on that embedding. Elsewhere (``bf16_native``: the CPU's flags, not oneDNN, which emulates bfloat16
on AVX-512 CPUs without it, more slowly) the branch runs in float32, a pooled embedding
within cosine 0.9999 of it; so it does where the CPU has bfloat16 but float32 on ONNX Runtime
measured faster when the process started (``models.runtime_choice``). An artifact without
``precision`` in the branch's meta runs in float32, as it was fitted.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from models import adapter
from models.adapter_batches import UrgencyLoss
from models.urgency_data import HARD_CALM_WEIGHT, REAL_CRITICAL_WEIGHT, row_weights

RANK = 8
ALPHA = 16
STEPS = 1500
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
SIMILARITY_WEIGHT = 2.0
BRANCH_FILE = "urgency_branch.safetensors"
PRECISION = "bfloat16"  # the precision new branches are fitted and run in


def _fork_class():
    import torch

    class Fork(torch.nn.Module):
        """Stands in for the last block: its output holds the shipped block's states and the branch's
        on the same input, side by side (2 x dim per word piece; ``Encoder`` splits them)."""

        def __init__(self, base, branch):
            super().__init__()
            self.base, self.branch = base, branch

        def forward(self, hidden, *args, **kwargs):
            return torch.cat((self.base(hidden, *args, **kwargs), self.branch(hidden, *args, **kwargs)), dim=-1)

    return Fork


def last_block(model):
    """The encoder's own last block (under a Fork, if one is installed)."""
    last = model.encoder.layer[-1]
    return getattr(last, "base", last)


BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX-512 BF16, AMX; Arm's BF16 extension


def bf16_native(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (else bfloat16 is slower than float32).

    From the CPU's own flags where the system lists them: oneDNN also says yes on AVX-512 CPUs
    without the bfloat16 instructions, where it emulates them; there (a 2-core AVX-512 Xeon) the
    model ran a median 117 texts/s with the branch in bfloat16 against 158 in float32 (ONNX Runtime)."""
    flags = cpu_flags(cpuinfo)
    if flags is not None:
        return bool(flags & BF16_FLAGS)
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset | None:
    """The first processor's feature flags (x86 ``flags``, Arm ``Features``); None where unlisted."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return None


def _bf16_linear_class():
    import torch

    class BF16Linear(torch.nn.Module):
        """A linear layer whose product runs in bfloat16 (sums in float32); float32 in and out."""

        def __init__(self, linear):
            super().__init__()
            self.weight = torch.nn.Parameter(linear.weight.detach().to(torch.bfloat16), requires_grad=False)
            self.bias = torch.nn.Parameter(linear.bias.detach().to(torch.bfloat16), requires_grad=False)

        def forward(self, x):
            return torch.nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias).to(torch.float32)

    return BF16Linear


def in_bf16(layer):
    """``layer`` with each of its linear layers computing in bfloat16 (in place)."""
    import torch

    half = _bf16_linear_class()
    for module in list(layer.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, half(child))
    return layer


def branch_layer(model, tensors: dict[str, np.ndarray], precision: str = "float32"):
    """A copy of ``model``'s last block with the branch's matrices merged in, computing in
    ``precision`` (bfloat16 only where the CPU has it natively: ``runs_in``)."""
    layer = copy.deepcopy(last_block(model))
    for key in tensors:
        if key.endswith(".a"):
            target = key[: -len(".a")]
            adapter.merge_into(layer, target, tensors[key], tensors[f"{target}.b"], ALPHA)
    if runs_in(precision) == "bfloat16":
        in_bf16(layer)
    return layer.eval()


def runs_in(precision: str) -> str:
    """The precision a branch fitted in ``precision`` runs in on this CPU."""
    if precision not in ("bfloat16", "float32"):
        raise ValueError(f"unknown branch precision {precision!r}")
    return "bfloat16" if precision == "bfloat16" and bf16_native() else "float32"


def install(model, tensors: dict[str, np.ndarray], precision: str = "float32") -> str:
    """Replace ``model``'s last block by a Fork of it and the branch, and say what the branch computes
    in. BERT's pooler (a dense layer on the first word piece, which nothing here reads) would fail
    on the doubled width: it goes."""
    model.encoder.layer[-1] = _fork_class()(model.encoder.layer[-1], branch_layer(model, tensors, precision))
    model.pooler = None
    return runs_in(precision)


def save(tensors: dict[str, np.ndarray], directory: Path) -> None:
    adapter.save(tensors, directory, BRANCH_FILE)


def load(directory: Path) -> dict[str, np.ndarray]:
    return adapter.load(directory, BRANCH_FILE)


def capture(encoder, texts: list[str], tokens: int, batch_size: int = 64) -> list[np.ndarray]:
    """For each text, the last block's input (word pieces x dim), read from the shipped encoder."""
    import torch

    seen = {}
    keep = lambda _module, args: seen.__setitem__("hidden", args[0])  # noqa: E731
    hook = encoder.model.encoder.layer[-1].register_forward_pre_hook(keep)
    out: list = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = encoder.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                      max_length=tokens, return_tensors="pt")  # fmt: skip
            with torch.inference_mode():
                encoder.model(**batch)
            lengths = batch["attention_mask"].sum(1).tolist()
            for row, i in enumerate(idx):
                out[i] = seen["hidden"][row, : lengths[row]].numpy().copy()
    finally:
        hook.remove()
    return out


def _run(layer, config, states: list[np.ndarray]):
    """The block on a padded batch of captured inputs: the mean-pooled, L2-normalised outputs."""
    import torch
    from transformers.masking_utils import create_bidirectional_mask

    width = max(len(s) for s in states)
    hidden = torch.zeros(len(states), width, states[0].shape[1])
    mask = torch.zeros(len(states), width, dtype=torch.long)
    for row, s in enumerate(states):
        hidden[row, : len(s)] = torch.from_numpy(s)
        mask[row, : len(s)] = 1
    full = create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=mask)
    out = layer(hidden, full) * mask.unsqueeze(-1)
    mean = out.sum(1) / mask.sum(1, keepdim=True)
    return mean / mean.norm(dim=1, keepdim=True).clamp(min=1e-12)


def _lora_copy(model):
    """A trainable copy of the last block: its weights frozen, low-rank updates on TARGETS."""
    layer = copy.deepcopy(last_block(model))
    for parameter in layer.parameters():
        parameter.requires_grad_(False)
    lora_linear, wrapped = adapter._modules(), {}
    for target in adapter.TARGETS:
        parent, leaf = adapter._parent(layer, target)
        wrapped[target] = lora_linear(getattr(parent, leaf), RANK, ALPHA)
        setattr(parent, leaf, wrapped[target])
    return layer, wrapped


def train(encoder, data, states: list[np.ndarray], anchors: np.ndarray, steps: int = STEPS, seed: int = 0,
          log=print) -> dict:  # fmt: skip
    """Fit the branch on ``data`` (an UrgencySet, texts normalised) from its captured ``states`` and
    the shipped embeddings ``anchors``; returns {"tensors", "meta"}."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layer, wrapped = _lora_copy(encoder.model)
    loss_fn = UrgencyLoss(data, anchors, row_weights(data.tier, data.groups))
    parameters = [p for w in wrapped.values() for p in (w.a, w.b)] + [p for h in loss_fn.heads for p in h.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))
    layer.train()
    started, losses = time.perf_counter(), []
    for step in range(steps):
        chosen = rng.choice(len(data), min(BATCH_SIZE, len(data)), replace=False)
        unit = _run(layer, encoder.model.config, [states[i] for i in chosen])
        frozen = torch.from_numpy(anchors[chosen])
        loss = SIMILARITY_WEIGHT * torch.mean((unit @ unit.T - frozen @ frozen.T) ** 2)
        loss = loss + loss_fn(unit * adapter.LOGIT_SCALE, chosen)
        losses.append(adapter.take_step(optimizer, schedule, loss))
        adapter.report_progress(log, "branch", step, steps, losses, started, every=250)
    tensors = {f"{t}.{m}": getattr(w, m).detach().numpy().copy() for t, w in wrapped.items() for m in ("a", "b")}
    meta = {"file": BRANCH_FILE, "fingerprint": adapter.fingerprint(tensors), "rank": RANK, "alpha": ALPHA,
            "steps": steps, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE,
            "similarity_weight": SIMILARITY_WEIGHT, "rows": len(data), "seed": seed, "precision": PRECISION,
            "hard_calm_weight": HARD_CALM_WEIGHT, "real_critical_weight": REAL_CRITICAL_WEIGHT,
            "train_seconds": round(time.perf_counter() - started)}  # fmt: skip
    return {"tensors": tensors, "meta": meta}
