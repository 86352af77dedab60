"""A sandbox for model-written Python: `Sandbox().run(code) -> ToolResult`.

  with Sandbox(num_workers=2, timeout_s=5.0) as box:
    box.run("import sympy\\nprint(sympy.factorint(360))")   # ToolResult(status='ok', ...)
    box.run_batch([code_1, code_2, ...])                    # in order, on all workers

Programs run in persistent worker processes (`sandbox_worker.py`, a standalone script started
as `python -I` with an empty environment: it imports nothing of jax or this project). A worker
preloads the whitelisted modules once and forks a fresh, isolated child per program (see the
worker's docstring: new session, chroot into a fresh empty directory and an unprivileged uid
when root, resource limits, network namespace, empty environment, guarded imports), so a call
costs a fork, not an interpreter start, and no program sees another's state.

Deadlines: the worker kills a program at `timeout_s` of wall clock (SIGTERM to its process group,
SIGKILL after 0.1 s; RLIMIT_CPU backs this up). The parent gives the worker `timeout_s` plus a
margin to answer; a worker that does not (or dies) is killed with its session and replaced, and
every process of its sandbox uid is killed. Only JSON crosses process boundaries: nothing the
program writes is ever unpickled or evaluated by the parent.

Statuses: ok; error (an exception, or the program died from a signal); timeout (wall clock or
CPU limit); memory (MemoryError under the address-space cap); output_limit (stdout or stderr
longer than `output_limit` bytes: the program is stopped, the output cut); forbidden (an import
outside the whitelist was attempted, even if the program caught the error).

The whitelist is a guarded `__import__` in the program's builtins, so it stops a program's own
`import os`, `import socket`, `import ctypes`, `from subprocess import ...`. It is a filter, not
the security boundary: the whitelisted packages expose other modules through attributes
(`numpy.ctypeslib`, object graphs reachable from `().__class__.__subclasses__()`). What bounds
a program is the process isolation above; README "Tool-integrated reasoning" lists what
remains (residual risks) and how to add a container or bubblewrap/nsjail around it.

Written by hand: the peers run programs in external services (verl's SandboxFusion over HTTP,
TRL's docker/e2b environments) or in-process with `exec()`; no library does a local, fork-
server sandbox with these limits.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import multiprocessing.connection
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence

STATUSES = ("ok", "error", "timeout", "memory", "output_limit", "forbidden")
DEFAULT_ALLOWED_IMPORTS: tuple[str, ...] = (
    "math", "cmath", "fractions", "decimal", "itertools", "functools", "collections",
    "operator", "statistics", "random", "re", "string", "heapq", "bisect", "numbers",
    "sympy", "numpy", "mpmath")
_WORKER_SCRIPT = str(pathlib.Path(__file__).with_name("sandbox_worker.py"))
_STARTUP_TIMEOUT_S = 120.0
_ANSWER_MARGIN_S = 2.0       # the worker's own kill grace and reporting, beyond timeout_s
_ACCOUNT_UID_MIN = 200000    # the worker's call uids (sandbox_worker._UNPRIVILEGED_UID_BASE)


@dataclasses.dataclass(frozen=True)
class ToolResult:
  """One program's outcome.

  Attributes:
    status: ok | error | timeout | memory | output_limit | forbidden.
    stdout: what the program printed (cut at the output limit).
    stderr: its error stream (the traceback for errors; cut at the output limit).
    seconds: wall-clock time of the call.
    error: the last line of the error (`NameError: name 'x' is not defined`), or '' when ok.
  """
  status: str
  stdout: str
  stderr: str
  seconds: float
  error: str = ""

  @property
  def ok(self) -> bool:
    return self.status == "ok"


class SandboxError(RuntimeError):
  """The sandbox itself failed (a worker could not start)."""


class _Worker:
  """One worker process and the parent's end of its socket."""

  def __init__(self, config: dict, python: str):
    parent_sock, child_sock = socket.socketpair()
    # The worker's scratch directory (one subdirectory per call), removed here even when the
    # worker is killed mid-call.
    self.scratch = tempfile.mkdtemp(prefix="sandbox-")
    config = dict(config, scratch=self.scratch)
    self.process = subprocess.Popen(
        [python, "-I", _WORKER_SCRIPT, str(child_sock.fileno()), json.dumps(config)],
        pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        env={}, close_fds=True, start_new_session=True, cwd="/")
    child_sock.close()
    self.conn = multiprocessing.connection.Connection(parent_sock.detach())
    self.info: dict | None = None
    self.task: tuple[int, float] | None = None    # (index in the batch, answer deadline)

  def wait_ready(self, deadline: float) -> dict:
    remaining = deadline - time.monotonic()
    if remaining > 0 and self.conn.poll(remaining):
      try:
        self.info = json.loads(self.conn.recv_bytes())
        return self.info
      except (EOFError, OSError, ValueError):
        pass
    code = self.process.poll()
    self.kill()
    raise SandboxError(f"sandbox worker did not start (exit code {code}); run "
                       f"`python -I {_WORKER_SCRIPT}` by hand to see why")

  def kill(self) -> None:
    """Kills the worker's session, then every process of its sandbox uid (escaped orphans)."""
    for sig, grace in ((signal.SIGTERM, 0.1), (signal.SIGKILL, 2.0)):
      if self.process.poll() is not None:
        break
      try:
        os.killpg(self.process.pid, sig)
      except (ProcessLookupError, PermissionError):
        pass
      try:
        self.process.wait(grace)
      except subprocess.TimeoutExpired:
        pass
    uid = (self.info or {}).get("uid")
    if (self.info or {}).get("privileged") and isinstance(uid, int) and uid >= _ACCOUNT_UID_MIN:
      _kill_uid(uid)
    self.conn.close()
    shutil.rmtree(self.scratch, ignore_errors=True)


def _kill_uid(uid: int) -> None:
  """SIGKILL to every process whose real uid is `uid` (a worker's private call uid)."""
  for entry in os.listdir("/proc"):
    if not entry.isdigit():
      continue
    try:
      with open(f"/proc/{entry}/status") as f:
        for line in f:
          if line.startswith("Uid:"):
            if int(line.split()[1]) == uid:
              os.kill(int(entry), signal.SIGKILL)
            break
    except (OSError, ValueError):
      continue


class Sandbox:
  """Persistent sandbox workers; `run(code)` and `run_batch(codes)` (see module docstring).

  Args:
    num_workers: worker processes (programs run in parallel, one per worker).
    timeout_s: wall-clock limit of one program.
    memory_mb: address space a program may add on top of the preloaded interpreter
      (RLIMIT_AS = the worker's mapped size at start + memory_mb).
    output_limit: bytes kept of stdout and of stderr; more stops the program (output_limit).
    allowed_imports: top-level modules a program may import (preloaded by the workers).
    file_size_mb: largest file a program may write (RLIMIT_FSIZE) in its directory.
    open_files: open file descriptors (RLIMIT_NOFILE).
    isolate_network: unshare a network namespace where permitted (Linux, root).
    python: the interpreter of the workers (it must import the whitelisted packages).
  """

  def __init__(self, *, num_workers: int = 2, timeout_s: float = 5.0, memory_mb: int = 512,
               output_limit: int = 8192,
               allowed_imports: Sequence[str] = DEFAULT_ALLOWED_IMPORTS,
               file_size_mb: int = 4, open_files: int = 64, isolate_network: bool = True,
               python: str | None = None):
    if num_workers < 1 or timeout_s <= 0 or memory_mb < 1 or output_limit < 1:
      raise ValueError(f"Sandbox: num_workers={num_workers} (>= 1), timeout_s={timeout_s} "
                       f"(> 0), memory_mb={memory_mb} (>= 1), output_limit={output_limit} "
                       "(>= 1)")
    bad = [m for m in allowed_imports if not str(m).isidentifier()]
    if bad:
      raise ValueError(f"Sandbox: allowed_imports must be top-level module names; got {bad}")
    self.num_workers = int(num_workers)
    self.timeout_s = float(timeout_s)
    self.allowed_imports = tuple(allowed_imports)
    self._config = dict(memory_mb=int(memory_mb), output_limit=int(output_limit),
                        allowed_imports=list(self.allowed_imports),
                        file_size_mb=int(file_size_mb), open_files=int(open_files),
                        isolate_network=bool(isolate_network))
    self._python = python or sys.executable
    self._lock = threading.Lock()
    self._workers: list[_Worker] = []
    self._pid = os.getpid()
    self.restarts = 0
    self._start(self.num_workers)
    self._finalizer = weakref.finalize(self, Sandbox._close_workers, self._workers)

  # -- lifecycle ---------------------------------------------------------------------------

  def _start(self, n: int) -> list[_Worker]:
    fresh = [_Worker(self._config, self._python) for _ in range(n)]
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    try:
      for w in fresh:
        w.wait_ready(deadline)
    except SandboxError:
      for w in fresh:
        w.kill()
      raise
    self._workers.extend(fresh)
    return fresh

  def _replace(self, worker: _Worker) -> None:
    worker.kill()
    self._workers.remove(worker)
    self.restarts += 1
    self._start(1)

  @staticmethod
  def _close_workers(workers: list[_Worker]) -> None:
    for w in workers:
      try:
        w.conn.close()           # EOF: the worker exits and removes its scratch directory
      except OSError:
        pass
    end = time.monotonic() + 2.0
    for w in workers:
      try:
        w.process.wait(max(end - time.monotonic(), 0.01))
        shutil.rmtree(w.scratch, ignore_errors=True)
      except subprocess.TimeoutExpired:
        w.kill()
    workers.clear()

  def close(self) -> None:
    """Stops the workers (idempotent)."""
    with self._lock:
      self._finalizer()

  def __enter__(self) -> "Sandbox":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  # -- facts -------------------------------------------------------------------------------

  @property
  def network_isolated(self) -> bool:
    """True when every worker runs in its own network namespace."""
    return bool(self._workers) and all(w.info["network_isolated"] for w in self._workers)

  @property
  def isolation(self) -> dict:
    """What the first worker reported: network, privileges, preloaded modules, sizes."""
    return dict(self._workers[0].info) if self._workers else {}

  # -- running -----------------------------------------------------------------------------

  def run(self, code: str) -> ToolResult:
    """Runs one program; see the module docstring for the statuses."""
    return self.run_batch([code])[0]

  def run_batch(self, codes: Sequence[str]) -> list[ToolResult]:
    """Runs the programs on all workers; results in input order."""
    codes = [str(c) for c in codes]
    with self._lock:
      if not self._finalizer.alive:
        raise SandboxError("the sandbox is closed")
      if os.getpid() != self._pid:       # a forked copy: the workers belong to the parent
        self._workers = []
        self._pid = os.getpid()
        self._start(self.num_workers)
        self._finalizer = weakref.finalize(self, Sandbox._close_workers, self._workers)
      return self._run_locked(codes)

  def _run_locked(self, codes: list[str]) -> list[ToolResult]:
    results: list[ToolResult | None] = [None] * len(codes)
    pending = collections.deque(range(len(codes)))
    idle = list(self._workers)
    busy: dict[object, _Worker] = {}
    while pending or busy:
      while pending and idle:
        w = idle.pop()
        i = pending.popleft()
        request = json.dumps({"code": codes[i], "timeout_s": self.timeout_s})
        try:
          w.conn.send_bytes(request.encode())
        except OSError:
          pending.appendleft(i)
          self._replace(w)
          idle.append(self._workers[-1])
          continue
        w.task = (i, time.monotonic() + self.timeout_s + _ANSWER_MARGIN_S)
        busy[w.conn] = w
      if not busy:
        continue
      wait_s = max(min(w.task[1] for w in busy.values()) - time.monotonic(), 0.0)
      for conn in multiprocessing.connection.wait(list(busy), timeout=wait_s):
        w = busy.pop(conn)
        i = w.task[0]
        w.task = None
        try:
          answer = json.loads(conn.recv_bytes())
          results[i] = ToolResult(status=answer["status"], stdout=answer["stdout"],
                                  stderr=answer["stderr"], seconds=float(answer["seconds"]),
                                  error=answer["error"])
          idle.append(w)
        except (EOFError, OSError, ValueError, KeyError):
          results[i] = ToolResult("error", "", "", self.timeout_s,
                                  "SandboxError: the worker died")
          self._replace(w)
          idle.append(self._workers[-1])
      now = time.monotonic()
      for conn, w in list(busy.items()):
        if w.task[1] <= now:             # the worker missed its answer deadline
          busy.pop(conn)
          results[w.task[0]] = ToolResult("timeout", "", "", now - w.task[1] + self.timeout_s
                                          + _ANSWER_MARGIN_S, "timeout (worker replaced)")
          self._replace(w)
          idle.append(self._workers[-1])
    return [r for r in results if r is not None]
