"""`make bench`: every benchmark in turn. They measure and print; none asserts a timing.

  python -m bench                 all of them
  python -m bench ingest sla      some of them
"""

import importlib
import sys
import time

BENCHMARKS = {
    "ingest": "bench.bench_ingest",
    "incidents": "bench.bench_incidents",
    "model": "bench.bench_model",
    "pipeline": "bench.bench_pipeline",
    "slack": "bench.bench_slack",
    "storm": "bench.bench_storm",
    "sla": "bench.bench_sla",
    "load": "bench.bench_load",
}


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names or BENCHMARKS:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        importlib.import_module(BENCHMARKS[name]).run()
        print(f"== {name} took {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
