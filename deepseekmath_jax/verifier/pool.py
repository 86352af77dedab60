"""A persistent pool of grading worker processes with a wall-clock deadline per item.

Why not `signal.alarm` or `concurrent.futures`: alarms only work in the main thread and cannot
interrupt native code (Math-Verify #50, #55, #65; verl's Ray workers silently scored 0,
../shared/reference/peers.md §8F), and a `ProcessPoolExecutor` cannot kill one stuck task.
Here each worker owns a socket; the parent sends one item at a time to a ready worker and waits
with `multiprocessing.connection.wait`. A worker still busy at its item's deadline is terminated
(SIGTERM, then SIGKILL after a short grace) and replaced; its item is reported as a timeout.

Workers are fresh interpreters (`python -m deepseekmath_jax.verifier.worker`), not forks and not
multiprocessing children: forking a parent that runs JAX threads is unsafe, and multiprocessing's
spawn/forkserver re-import the caller's `__main__` (a training entrypoint) in every worker. A
worker announces itself ready only after importing and warming up sympy and the LaTeX parser, so
start-up never eats an item's deadline. Each worker caps its address space (RLIMIT_AS) so a
memory bomb fails inside sympy instead of taking the machine down.

The pool is created lazily, shared by every `grade`/`grade_batch` call of the process (calls are
serialized by a lock), re-created after a fork, and shut down at exit.
"""

from __future__ import annotations

import atexit
import collections
import multiprocessing.connection
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Sequence

TIMEOUT = ("__timeout__",)
CRASHED = ("__crashed__",)
_KILL_GRACE_S = 0.05
_PACKAGE_ROOT = str(pathlib.Path(__file__).resolve().parents[2])


def default_num_workers() -> int:
  env = os.environ.get("DEEPSEEKMATH_VERIFIER_WORKERS")
  if env:
    return max(1, int(env))
  return max(1, min(4, os.cpu_count() or 1))


class _Worker:
  """One worker process and the parent's end of its socket."""

  def __init__(self):
    parent_sock, child_sock = socket.socketpair()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    self.process = subprocess.Popen(
        [sys.executable, "-m", "deepseekmath_jax.verifier.worker", str(child_sock.fileno())],
        pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        env=env, close_fds=True)
    child_sock.close()
    self.conn = multiprocessing.connection.Connection(parent_sock.detach())
    self.ready = False
    self.task: tuple[int, float] | None = None  # (item index, deadline)

  def is_alive(self) -> bool:
    return self.process.poll() is None

  def kill(self) -> None:
    if self.is_alive():
      self.process.terminate()
      try:
        self.process.wait(_KILL_GRACE_S)
      except subprocess.TimeoutExpired:
        self.process.kill()  # SIGKILL escalation.
        try:
          self.process.wait(1.0)
        except subprocess.TimeoutExpired:
          pass
    self.conn.close()


class WorkerPool:
  """Runs `judge_symbolic(*args)` for many items, each under its own wall-clock deadline."""

  def __init__(self, num_workers: int | None = None):
    self.num_workers = num_workers or default_num_workers()
    self._workers = [_Worker() for _ in range(self.num_workers)]
    self.pid = os.getpid()
    self.timeouts = 0
    self.replacements = 0

  def _replace(self, worker: _Worker) -> _Worker:
    worker.kill()
    self.replacements += 1
    fresh = _Worker()
    self._workers[self._workers.index(worker)] = fresh
    return fresh

  def run(self, tasks: Sequence[tuple[Any, ...]], deadline_s: float) -> list[Any]:
    """Results in task order; TIMEOUT for items past their deadline, CRASHED for dead workers."""
    results: list[Any] = [None] * len(tasks)
    pending = collections.deque(range(len(tasks)))
    startup_failures = 0
    while pending or any(w.task is not None for w in self._workers):
      if startup_failures > 3 * self.num_workers:
        # Workers die before they are ready (a broken install): report, never spin.
        for index in pending:
          results[index] = CRASHED
        pending.clear()
      now = time.monotonic()
      for worker in list(self._workers):
        if worker.ready and worker.task is None and pending:
          index = pending.popleft()
          try:
            worker.conn.send(tasks[index])
            worker.task = (index, time.monotonic() + deadline_s)
          except (OSError, ValueError):
            results[index] = CRASHED
            self._replace(worker)
      deadlines = [w.task[1] for w in self._workers if w.task is not None]
      wait_s = max(0.0, min(deadlines) - now) if deadlines else 0.05
      ready_conns = multiprocessing.connection.wait([w.conn for w in self._workers],
                                                    timeout=min(wait_s, 0.5))
      by_conn = {id(w.conn): w for w in self._workers}
      for conn in ready_conns:
        worker = by_conn[id(conn)]
        try:
          message = conn.recv()
        except (EOFError, OSError):
          if worker.task is not None:
            results[worker.task[0]] = CRASHED
          startup_failures += 0 if worker.ready else 1
          self._replace(worker)
          continue
        if not worker.ready:
          worker.ready = message == "ready"
          continue
        if worker.task is not None:
          results[worker.task[0]] = message
          worker.task = None
      now = time.monotonic()
      for worker in list(self._workers):
        if worker.task is not None and now >= worker.task[1]:
          results[worker.task[0]] = TIMEOUT
          self.timeouts += 1
          self._replace(worker)
        elif not worker.is_alive() and not worker.conn.poll():
          if worker.task is not None:
            results[worker.task[0]] = CRASHED
          startup_failures += 0 if worker.ready else 1
          self._replace(worker)
    return results

  def wait_ready(self, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not all(w.ready for w in self._workers):
      pending = [w for w in self._workers if not w.ready]
      for conn in multiprocessing.connection.wait([w.conn for w in pending], timeout=0.5):
        worker = next(w for w in pending if w.conn is conn)
        try:
          worker.ready = conn.recv() == "ready"
        except (EOFError, OSError):
          self._replace(worker)

  def close(self) -> None:
    for worker in self._workers:
      try:
        worker.conn.send(None)
      except (OSError, ValueError):
        pass
    for worker in self._workers:
      try:
        worker.process.wait(0.2)
      except subprocess.TimeoutExpired:
        pass
      worker.kill()
    self._workers = []


_POOL: WorkerPool | None = None
_LOCK = threading.Lock()


def run_tasks(tasks: Sequence[tuple[Any, ...]], deadline_s: float,
              num_workers: int | None = None) -> list[Any]:
  """Runs tasks on the shared pool (created on first use; re-created after a fork)."""
  global _POOL
  if not tasks:
    return []
  with _LOCK:
    if _POOL is not None and (_POOL.pid != os.getpid() or (
        num_workers is not None and num_workers != _POOL.num_workers)):
      if _POOL.pid == os.getpid():
        _POOL.close()
      _POOL = None
    if _POOL is None:
      _POOL = WorkerPool(num_workers)
    return _POOL.run(tasks, deadline_s)


def start(num_workers: int | None = None, timeout_s: float = 60.0) -> None:
  """Starts the shared pool and waits until its workers are ready (e.g. before timing)."""
  global _POOL
  with _LOCK:
    if _POOL is None or _POOL.pid != os.getpid():
      _POOL = WorkerPool(num_workers)
    _POOL.wait_ready(timeout_s)


def shutdown() -> None:
  """Stops the shared pool's workers (also done at interpreter exit)."""
  global _POOL
  with _LOCK:
    if _POOL is not None and _POOL.pid == os.getpid():
      _POOL.close()
    _POOL = None


def stats() -> dict[str, int]:
  """Timeouts and worker replacements since the shared pool started."""
  if _POOL is None:
    return {"timeouts": 0, "replacements": 0, "workers": 0}
  return {"timeouts": _POOL.timeouts, "replacements": _POOL.replacements,
          "workers": _POOL.num_workers}


atexit.register(shutdown)
