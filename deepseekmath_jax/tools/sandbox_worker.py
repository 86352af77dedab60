"""Sandbox worker: a standalone script that runs untrusted Python programs, one per call.

Started by `sandbox.Sandbox` as `python -I sandbox_worker.py FD CONFIG_JSON` with an empty
environment. It imports only the standard library and the whitelisted modules (never jax or
this project: with `-I` the project is not even on `sys.path`), preloads the whitelist, and then
serves requests on the socket FD, one at a time. The worker itself never runs untrusted code:
for each program it forks a child that, before running it,

  * starts a new session (its own process group, no controlling terminal);
  * keeps only stdin (/dev/null), stdout and stderr (pipes read by the worker, cut at the
    output limit) and a result pipe; every other descriptor, the worker's socket included, is
    closed;
  * as root: chroots into a fresh empty temporary directory and switches to an unprivileged
    uid/gid of its own (no file outside that directory is visible; root-only checks such as
    the process-count limit apply); otherwise it only changes into that directory;
  * sets resource limits: address space, CPU seconds, processes (1: no fork, no threads), file
    size, open files, no core files;
  * clears the environment and runs the program with a guarded `__import__` (the whitelist).

The worker unshares a network namespace at start when permitted (root on Linux), so children
see only a loopback device that is down. It enforces each call's wall-clock deadline on the
child (SIGTERM to its process group, SIGKILL after a grace) and reports one JSON result per
request. Child-to-worker and worker-to-parent messages are JSON, never pickle, so no data from
the untrusted side is ever unpickled.
"""

import builtins
import ctypes
import ctypes.util
import errno
import fcntl
import importlib
import io
import json
import linecache
import math
import multiprocessing.connection
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback

# Single-threaded numeric libraries: a child may not create threads (RLIMIT_NPROC = 1).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
  os.environ[_var] = "1"

_CLONE_NEWNET = 0x40000000
_KILL_GRACE_S = 0.1
_RESULT_LIMIT = 1 << 16
_UNPRIVILEGED_UID_BASE = 200000          # child uid = base + worker pid % 100000 (as root)
_NOBODY = 65534

# Submodules preloaded with their packages: under chroot nothing can be imported from disk
# after the fork, so what a program may use must already be in memory.
_PRELOAD = {
    "sympy": ("sympy.abc", "sympy.ntheory", "sympy.solvers", "sympy.solvers.inequalities",
              "sympy.solvers.diophantine", "sympy.polys", "sympy.simplify", "sympy.integrals",
              "sympy.series", "sympy.functions", "sympy.matrices", "sympy.sets",
              "sympy.combinatorics", "sympy.geometry", "sympy.printing",
              "sympy.parsing.sympy_parser",
              "sympy.logic", "sympy.concrete", "sympy.calculus", "sympy.stats", "sympy.discrete",
              "sympy.utilities.lambdify", "sympy.utilities.iterables"),
    "numpy": ("numpy.linalg", "numpy.random", "numpy.polynomial", "numpy.fft"),
}


class ForbiddenImport(ImportError):
  """An import outside the whitelist."""


def _preload(allowed):
  loaded, failed = [], {}
  for name in allowed:
    for module in (name,) + _PRELOAD.get(name, ()):
      try:
        importlib.import_module(module)
        loaded.append(module)
      except Exception as e:  # pylint: disable=broad-except
        failed[module] = f"{type(e).__name__}: {e}"
  # Warm the lazy paths that typical programs hit, while files are still visible.
  if "sympy" in sys.modules:
    sympy = sys.modules["sympy"]
    x = sympy.Symbol("x")
    sympy.solve(x ** 2 - 2, x)
    sympy.simplify(sympy.sin(x) ** 2 + sympy.cos(x) ** 2)
    sympy.integrate(x ** 2, (x, 0, 1))
    sympy.factorint(360)
    sympy.nsimplify(0.5)
    sympy.latex(sympy.sqrt(8))
    sympy.Rational(1, 3).evalf()
    sympy.Matrix([[1, 2], [3, 4]]).det()
    sympy.limit(sympy.sin(x) / x, x, 0)
    sympy.summation(x, (x, 1, 10))
    sympy.expand((x + 1) ** 3)
    sympy.factor(x ** 2 - 1)
    sympy.sympify("x + 1")
    str(sympy.pi.evalf(20))
  if "numpy" in sys.modules:
    np = sys.modules["numpy"]
    a = np.arange(6.0).reshape(2, 3)
    str(a)
    np.linalg.det(np.eye(2))
    np.roots([1, -3, 2])
  "x".encode("idna")
  return loaded, failed


def _isolate_network():
  """Unshares a network namespace for this worker and its children; (isolated, note)."""
  if not sys.platform.startswith("linux"):
    return False, f"no network namespaces on {sys.platform}"
  try:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
      err = ctypes.get_errno()
      return False, f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}"
  except Exception as e:  # pylint: disable=broad-except
    return False, f"unshare(CLONE_NEWNET) unavailable: {e}"
  return True, "network namespace with only a down loopback device"


def _address_space_bytes():
  with open("/proc/self/statm") as f:
    return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _guarded_builtins(allowed, attempts):
  """A copy of the builtins whose `__import__` admits only whitelisted top-level modules.

  Modules already loaded keep the real `__import__` (their globals hold the real builtins),
  so the whitelist applies to the program's own import statements only.
  """
  real_import = builtins.__import__

  def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    top = name.partition(".")[0]
    if level != 0 or top not in allowed:
      attempts.append(name)
      raise ForbiddenImport(f"import of {name!r} is not allowed here; allowed modules: "
                            f"{', '.join(sorted(allowed))}")
    return real_import(name, globals, locals, fromlist, level)

  table = dict(builtins.__dict__)
  table["__import__"] = guarded_import
  return table


def _run_program(code, allowed):
  """Runs `code`; returns (status, error_line). Called in the child only."""
  attempts = []
  namespace = {"__name__": "__main__", "__builtins__": _guarded_builtins(allowed, attempts)}
  linecache.cache["<tool>"] = (len(code), None, code.splitlines(True), "<tool>")
  status, error_line = "ok", ""
  try:
    exec(compile(code, "<tool>", "exec"), namespace)  # pylint: disable=exec-used
  except SystemExit as e:
    if e.code not in (None, 0):
      status, error_line = "error", f"SystemExit: {e.code}"
  except BaseException as e:  # pylint: disable=broad-except
    namespace.clear()            # frees what a memory bomb holds before formatting the error
    status = ("memory" if isinstance(e, MemoryError) else
              "forbidden" if isinstance(e, ForbiddenImport) else "error")
    try:
      traceback.print_exc()
    except BaseException:  # pylint: disable=broad-except
      pass
    try:
      error_line = "".join(traceback.format_exception_only(type(e), e)).strip().splitlines()[-1]
    except BaseException:  # pylint: disable=broad-except
      error_line = type(e).__name__
  if attempts and status == "ok":
    status, error_line = "forbidden", f"ForbiddenImport: import of {attempts[0]!r} attempted"
  return status, error_line


def _child(code, request, config, workdir, uid, fds):
  """The forked child: isolate, limit, run, report on fd 3, exit. Never returns."""
  try:
    os.setsid()
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds]   # out of the way of 0-3
    for target, fd in enumerate(high):
      os.dup2(fd, target)
    os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    if os.geteuid() == 0:
      os.chown(workdir, uid, uid)
      os.chroot(workdir)
      os.chdir("/")
      os.setgroups([])
      os.setgid(uid)
      os.setuid(uid)
    else:
      os.chdir(workdir)
    timeout_s = float(request["timeout_s"])
    cpu_s = int(math.ceil(timeout_s)) + 1
    memory = int(config["baseline_bytes"]) + int(config["memory_mb"]) * (1 << 20)
    limits = ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, cpu_s),
              (resource.RLIMIT_NPROC, 1),
              (resource.RLIMIT_FSIZE, int(config["file_size_mb"]) << 20),
              (resource.RLIMIT_NOFILE, int(config["open_files"])), (resource.RLIMIT_CORE, 0))
    for which, value in limits:
      hard = value + 1 if which == resource.RLIMIT_CPU else value
      resource.setrlimit(which, (value, hard))
    os.environ.clear()
    sys.stdout, sys.stderr = (
        io.TextIOWrapper(io.BufferedWriter(io.FileIO(fd, "w", closefd=False)), encoding="utf-8",
                         errors="backslashreplace", line_buffering=True) for fd in (1, 2))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
  except BaseException as e:  # pylint: disable=broad-except
    _report_and_exit("error", f"SandboxSetupError: {type(e).__name__}: {e}")
  status, error_line = _run_program(code, set(config["allowed_imports"]))
  _report_and_exit(status, error_line)


def _report_and_exit(status, error_line):
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except BaseException:  # pylint: disable=broad-except
      pass
  try:
    os.write(3, json.dumps({"status": status, "error": error_line[:2000]}).encode())
  except BaseException:  # pylint: disable=broad-except
    pass
  os._exit(0)


def _kill_group(pid):
  """SIGTERM to the child's process group, SIGKILL after a grace; reaps the child."""
  for sig, grace in ((signal.SIGTERM, _KILL_GRACE_S), (signal.SIGKILL, 5.0)):
    try:
      os.killpg(pid, sig)
    except ProcessLookupError:
      pass
    end = time.monotonic() + grace
    while time.monotonic() < end:
      done, _ = os.waitpid(pid, os.WNOHANG)
      if done:
        return
      time.sleep(0.005)
  os.waitpid(pid, 0)


def _serve_one(request, config, uid):
  """Forks a child for one program and collects its outputs within the deadline."""
  start = time.monotonic()
  limit = int(config["output_limit"])
  workdir = tempfile.mkdtemp(prefix="call-", dir=config["scratch"])
  out_r, out_w = os.pipe()
  err_r, err_w = os.pipe()
  res_r, res_w = os.pipe()
  devnull = os.open(os.devnull, os.O_RDONLY)
  pid = os.fork()
  if pid == 0:
    _child(request["code"], request, config, workdir, uid, (devnull, out_w, err_w, res_w))
  for fd in (out_w, err_w, res_w, devnull):
    os.close(fd)
  buffers = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
  caps = {out_r: limit, err_r: limit, res_r: _RESULT_LIMIT}
  open_fds = set(buffers)
  deadline = start + float(request["timeout_s"])
  status = None
  while open_fds:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
      status = "timeout"
      break
    ready, _, _ = select.select(list(open_fds), [], [], remaining)
    for fd in ready:
      chunk = os.read(fd, 1 << 16)
      if not chunk:
        open_fds.discard(fd)
        continue
      buf = buffers[fd]
      buf += chunk
      if len(buf) > caps[fd]:
        del buf[caps[fd]:]
        status = "output_limit"
    if status == "output_limit":
      break
  wait_status = None
  while status is None:          # outputs closed; the child may still run (it closed them)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
      wait_status = st
      break
    if time.monotonic() >= deadline:
      status = "timeout"
      break
    time.sleep(0.002)
  if wait_status is None:
    _kill_group(pid)
  for fd in buffers:
    os.close(fd)
  shutil.rmtree(workdir, ignore_errors=True)
  stdout = buffers[out_r].decode("utf-8", "replace")
  stderr = buffers[err_r].decode("utf-8", "replace")
  error = ""
  if status is None:
    try:
      report = json.loads(buffers[res_r].decode("utf-8", "replace"))
      status, error = str(report["status"]), str(report.get("error", ""))
    except (ValueError, KeyError, TypeError):
      # No report: the child died. CPU limit (SIGXCPU) = timeout; other signals = error.
      sig = os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else 0
      if sig in (signal.SIGXCPU, signal.SIGKILL):
        status, error = "timeout", f"killed by {signal.Signals(sig).name}"
      else:
        code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else None
        status = "error"
        error = (f"killed by {signal.Signals(sig).name}" if sig else f"exited with {code}")
  if status not in ("ok", "error", "timeout", "memory", "output_limit", "forbidden"):
    status, error = "error", f"bad status {status!r}"
  return {"status": status, "stdout": stdout, "stderr": stderr, "error": error,
          "seconds": time.monotonic() - start}


def main():
  fd = int(sys.argv[1])
  config = json.loads(sys.argv[2])
  conn = multiprocessing.connection.Connection(fd)
  # The worker must not be killed by the parent's terminal signals; the parent ends it.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  network_isolated, network_note = (_isolate_network() if config["isolate_network"]
                                    else (False, "disabled by the caller"))
  for name in [m for m in sys.modules if m == "ctypes" or m.startswith("ctypes.")]:
    del sys.modules[name]        # not reachable by name from programs (loaded only to unshare)
  loaded, failed = _preload(config["allowed_imports"])
  config["baseline_bytes"] = _address_space_bytes()
  os.chmod(config["scratch"], 0o711)       # made by the parent, which removes it after us
  uid = _UNPRIVILEGED_UID_BASE + os.getpid() % 100000
  if os.geteuid() == 0:
    try:   # uids outside a user namespace's map are refused: fall back to nobody
      pid = os.fork()
      if pid == 0:
        try:
          os.setgid(uid)
          os.setuid(uid)
          os._exit(0)
        except OSError:
          os._exit(1)
      _, st = os.waitpid(pid, 0)
      if os.WEXITSTATUS(st) != 0:
        uid = _NOBODY
    except OSError:
      uid = _NOBODY
  conn.send_bytes(json.dumps({
      "ready": True, "pid": os.getpid(), "network_isolated": network_isolated,
      "network_note": network_note, "preloaded": loaded, "preload_failures": failed,
      "baseline_bytes": config["baseline_bytes"], "privileged": os.geteuid() == 0,
      "uid": uid if os.geteuid() == 0 else os.geteuid()}).encode())
  try:
    while True:
      try:
        message = conn.recv_bytes()
      except (EOFError, OSError):
        break
      request = json.loads(message.decode())
      try:
        result = _serve_one(request, config, uid)
      except OSError as e:
        if e.errno not in (errno.EMFILE, errno.ENOMEM, errno.EAGAIN):
          raise
        result = {"status": "error", "stdout": "", "stderr": "", "error":
                  f"SandboxError: {e}", "seconds": 0.0}
      conn.send_bytes(json.dumps(result).encode())
  finally:
    shutil.rmtree(config["scratch"], ignore_errors=True)


if __name__ == "__main__":
  main()
