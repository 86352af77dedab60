"""Entry point of one grading worker process: `python -m deepseekmath_jax.verifier.worker FD`.

The parent (`pool.py`) passes one end of a socketpair as file descriptor FD. The worker caps its
address space, imports and warms up sympy and the LaTeX parser, says "ready", then answers one
`grading.judge_symbolic(*args)` per message until the socket closes. The parent enforces the
deadline by killing this process; nothing here needs signals or threads.
"""

from __future__ import annotations

import multiprocessing.connection
import sys

_MEMORY_LIMIT_BYTES = 4 << 30


def _limit_memory() -> None:
  try:
    import resource  # pylint: disable=g-import-not-at-top
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _MEMORY_LIMIT_BYTES if hard == resource.RLIM_INFINITY else min(hard,
                                                                         _MEMORY_LIMIT_BYTES)
    if soft == resource.RLIM_INFINITY or soft > limit:
      resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
  except (ImportError, ValueError, OSError):
    pass


def _worker_main(fd: int) -> None:
  """Worker loop: import, say ready, then answer one (args) -> result per message."""
  conn = multiprocessing.connection.Connection(fd)
  _limit_memory()
  from deepseekmath_jax.verifier import grading  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.verifier import symbolic  # pylint: disable=g-import-not-at-top
  symbolic.warm_up()
  conn.send("ready")
  while True:
    try:
      message = conn.recv()
    except (EOFError, OSError):
      return
    if message is None:
      return
    try:
      result = grading.judge_symbolic(*message)
    except (Exception, RecursionError, MemoryError) as err:  # pylint: disable=broad-except
      result = ("__error__", f"{type(err).__name__}: {str(err)[:200]}")
    try:
      conn.send(result)
    except (OSError, ValueError):
      return


if __name__ == "__main__":
  _worker_main(int(sys.argv[1]))
