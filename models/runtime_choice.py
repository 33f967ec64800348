"""Which of two ways to run the model is faster on this CPU, measured when the model loads.

Where the CPU multiplies bfloat16 natively, a branch fitted in bfloat16 runs in it, on torch; the
same weights with the branch in float32 run through ONNX Runtime. The CPU's flags do not say which
is faster. Measured (batch 16, 2 threads, interleaved rounds of 256 customer tweets) on a 2-core
AMX Xeon on 2026-12-07: torch with the branch in bfloat16 a median 143 texts/s against 171 for
ONNX Runtime in float32, and 13 minutes later 209 against 219; another AMX Xeon had run torch at
308. So the runtime "auto" times both on PROBE and keeps the faster. The two give a handful of
posts another tier, so the branch's own precision (the first) stays unless another is MARGIN
times as fast: a machine does not flip between them on noise. A process measures once (``chosen``):
every model it builds after that runs the same way, so two versions it compares, or a model and
its copy with passage reading on, differ only in their weights.
"""

from __future__ import annotations

import logging
import statistics
import time

MARGIN = 1.1
ROUNDS = 3
BATCH_SIZE = 16
# Tweet-length customer posts (the traffic the workers see), varied so that batches pad a little.
PROBE = tuple(
    f"@brand order {n} still hasn't arrived after {n % 9 + 2} days"
    + " and nobody answers my emails, the chat or the phone" * (n % 3)
    + (", I need a refund today please" if n % 2 else "")
    for n in range(48)
)

log = logging.getLogger(__name__)
_kept: str | None = None  # the branch precision this process measured as the faster


def chosen() -> str | None:
    """The branch precision this process measured as the faster ("bfloat16" or "float32"), if it has."""
    return _kept


def choose(rates: list[float], margin: float = MARGIN) -> int:
    """The index of the way to run to keep, from texts per second: the first (the branch's own
    precision) unless another runs at least ``margin`` times as fast; then the fastest."""
    fastest = max(range(len(rates)), key=rates.__getitem__)
    return fastest if rates[fastest] >= margin * rates[0] else 0


def rates(encoders: list, rounds: int = ROUNDS, texts: tuple[str, ...] = PROBE) -> list[float]:
    """Texts per second of each encoder on ``texts`` (the whole model: shipped block and branch),
    the median of ``rounds`` interleaved rounds after one warm-up pass each."""
    timings: list[list[float]] = [[] for _ in encoders]
    for encoder in encoders:
        encoder.encode_urgency(list(texts[:BATCH_SIZE]), BATCH_SIZE)
    for _ in range(rounds):
        for encoder, times in zip(encoders, timings, strict=True):
            started = time.perf_counter()
            encoder.encode_urgency(list(texts), BATCH_SIZE)
            times.append(time.perf_counter() - started)
    return [len(texts) / statistics.median(times) for times in timings]


def fastest(encoders: list):
    """The encoder ``choose`` keeps, measured here and remembered (``chosen``); the others are dropped."""
    global _kept
    measured = rates(encoders)
    kept = encoders[choose(measured)]
    _kept = kept.branch_precision
    speeds = {f"{e.runtime}/{e.branch_precision}": round(r) for e, r in zip(encoders, measured, strict=True)}
    log.info("model runtime: %s with the branch in %s", kept.runtime, kept.branch_precision,
             extra={"texts_per_second": speeds})  # fmt: skip
    return kept


def release() -> None:
    """Hand the memory of the encoders no longer referenced back: measured, a worker that kept torch
    after measuring held 763 MiB, 651 after this (533 when nothing was measured)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory stays with the process, nothing breaks
        pass
