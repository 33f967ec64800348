"""Model benchmark: throughput per batch size, a worker's memory, time to first classification,
and what one hostile megabyte costs against one tweet.

    python -m bench.bench_model [--data ../shared/data/twcs_5000.csv] [--threads 2] [--runtime auto|torch]

It measures and prints; it asserts nothing about timings (they depend on the machine).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

from models.onnx_forward import RUNTIMES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "twcs_5000.csv"
BATCH_SIZES = (1, 8, 16, 32, 64)
SAMPLE = 256

# Runs in a fresh interpreter, as a worker would start: import, load, classify one mention.
FIRST_CLASSIFICATION = """
import psutil
from models.classifier import load_classifier
clf = load_classifier(threads={threads}, runtime={runtime!r})
clf.predict(["@acme my order never arrived and nobody answers"])
print(psutil.Process().memory_info().rss)
"""


def raw_throughput(texts: list[str], batch_size: int, threads: int, runtime: str = "auto") -> float:
    """Texts per second through the whole model (encoder and heads), after one warm-up batch; the
    process's first call sets what runs the model (``runtime``, the YAML model.runtime)."""
    from models.classifier import load_classifier

    clf = load_classifier(threads=threads, runtime=runtime)  # first: it sets torch's environment before torch loads
    import torch

    torch.set_num_threads(threads)
    clf.predict(texts[:batch_size], batch_size=batch_size)
    start = time.perf_counter()
    clf.predict(texts, batch_size=batch_size)
    return len(texts) / (time.perf_counter() - start)


def customer_texts(path: Path, n: int) -> list[str]:
    """Inbound customer tweets from the support-thread file, else the bundled sanity set."""
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r["text"] for r in csv.DictReader(fh) if r.get("inbound") == "True"]
    else:
        from models.datasets import read_csv
        from models.evaluate import OOD_FILE

        rows = read_csv(OOD_FILE).texts
    return (rows * (n // max(1, len(rows)) + 1))[:n]


def first_classification(threads: int, runtime: str) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", FIRST_CLASSIFICATION.format(threads=threads, runtime=runtime)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - start, int(result.stdout.split()[-1])


def hostile_cost(threads: int, runtime: str, rounds: int = 7) -> tuple[float, float]:
    """Median seconds per mention, model and urgency rules as a worker runs them, for one
    tweet and for a 1 MB adversarial text (every word a signal, every other a negation);
    the two are timed in interleaved rounds."""
    import statistics

    from models.classifier import load_classifier
    from models.text import analysed
    from triage.urgency import decide

    clf = load_classifier(threads=threads, runtime=runtime)
    tweet = "@acme no refund yet and you charged me twice, this is a scam"
    hostile = ("no scam " * 131072)[: 2**20]

    def cost(text: str) -> float:
        start = time.perf_counter()
        [prediction] = clf.predict([text], batch_size=1)
        decide(prediction, analysed(text), followers=100, repeat_contacts=0)
        return time.perf_counter() - start

    cost(tweet), cost(hostile)  # warm-up
    pairs = [(cost(tweet), cost(hostile)) for _ in range(rounds)]
    return statistics.median(t for t, _ in pairs), statistics.median(h for _, h in pairs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto", help="the YAML model.runtime")
    args = parser.parse_args(argv)

    from models.classifier import BATCH_SIZE

    seconds, rss = first_classification(args.threads, args.runtime)
    print(f"time to first classification (fresh process): {seconds:.1f} s")
    print(f"worker RSS after load and one prediction: {rss / 2**20:.0f} MiB")
    texts = customer_texts(args.data, SAMPLE)
    print(f"throughput on {len(texts)} customer tweets, {args.threads} threads:")
    for batch_size in BATCH_SIZES:
        rate = raw_throughput(texts, batch_size, args.threads, args.runtime)
        chosen = "  <- shipped batch size" if batch_size == BATCH_SIZE else ""
        print(f"  batch {batch_size:>3}: {rate:7.1f} texts/s{chosen}")
    tweet, hostile = hostile_cost(args.threads, args.runtime)
    print(f"one mention, model and rules, median of 7 interleaved rounds: tweet {tweet * 1000:.1f} ms, "
          f"1 MB adversarial text {hostile * 1000:.1f} ms ({hostile / tweet:.1f}x)")


def run() -> None:
    main([])


if __name__ == "__main__":
    main()
