r"""Sandbox throughput: programs per second, ours vs a fresh interpreter per program.

  python experiments/sandbox_benchmark.py [--programs=200] [--workers=2]

Ours: `tools.Sandbox` (persistent workers that fork an isolated child per program). Baseline:
what a sandbox without a fork server does, a new `python -I` per program that imports what the
program needs (the same limits are not applied to the baseline, which only makes it faster).
Both run the same programs side by side, with the same number of parallel processes.
"""

import argparse
import concurrent.futures
import subprocess
import sys
import time

from deepseekmath_jax.tools import Sandbox

PROGRAMS = {
    "print": "print(sum(range(100)))",
    "sympy": "import sympy\nx = sympy.Symbol('x')\nprint(sympy.solve(x**2 - 5*x + 6, x))",
}


def _baseline(code: str) -> str:
  return subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                        timeout=60, env={}).stdout


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--programs", type=int, default=200)
  parser.add_argument("--workers", type=int, default=2)
  args = parser.parse_args()
  rows = []
  with Sandbox(num_workers=args.workers) as box:
    for name, code in PROGRAMS.items():
      codes = [code] * args.programs
      start = time.perf_counter()
      results = box.run_batch(codes)
      ours = args.programs / (time.perf_counter() - start)
      assert all(r.status == "ok" for r in results), results[0]
      n_base = max(args.programs // 10, 4)     # the baseline is slow; fewer programs
      start = time.perf_counter()
      with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        outs = list(pool.map(_baseline, [code] * n_base))
      base = n_base / (time.perf_counter() - start)
      assert outs[0] == results[0].stdout
      rows.append((name, ours, base))
  print(f"| program | Sandbox (programs/s) | python -I per program (programs/s) | ratio |")
  print("|---|---|---|---|")
  for name, ours, base in rows:
    print(f"| {name} | {ours:.1f} | {base:.2f} | {ours / base:.0f}x |")


if __name__ == "__main__":
  main()
