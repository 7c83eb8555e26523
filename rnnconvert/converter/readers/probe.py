"""An HDF5 file's structure read in a child process with a deadline, before we open it.

libhdf5 can hang or crash on some corrupt files (an open upstream bug); the child takes
that instead of us. A small process (the CLI: ~70 MiB resident) forks its child directly.
A large one (TensorFlow imported: ~1 GiB resident, dozens of threads) does not: forking it
copies its page tables on every probe (~40 ms measured) and the child would inherit locks
held by threads it does not have. It starts a *probe server* once instead -- a fresh, small,
single-threaded interpreter (spawned, not forked) that forks one child per probe -- and
keeps it while it behaves; a server that misses a deadline is killed with its child.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import h5py

from ...errors import FormatError

PROBE_DEADLINE_ENV = "RNNCONVERT_HDF5_DEADLINE"
DEFAULT_DEADLINE = 60.0
#: A process with more resident memory than this probes through the server.
HEAVY_RSS = 256 << 20
#: What the server runs (the tests replace it to make a server whose children hang or crash).
SERVER_CODE = "from rnnconvert.converter.readers.probe import serve; serve()"


def _probe_child(path: str) -> str:
    """Open the file and walk its structure; '' if libhdf5 managed, else what it said."""
    try:
        with h5py.File(path, "r") as f:
            f.attrs.keys()

            def visit(_name: str, obj: Any) -> None:  # H5Ovisit: each object once, hard links only
                list(obj.attrs.keys())
                if isinstance(obj, h5py.Dataset):
                    obj.id.get_create_plist().get_layout()
                    if obj.chunks:
                        obj.id.get_num_chunks()

            f.visititems(visit)
        return ""
    except BaseException as exc:  # reported to the parent, which raises FormatError
        return f"{type(exc).__name__}: {exc}" or "error"


def probe(path: str | os.PathLike[str], where: str, deadline: float | None = None) -> None:
    """Walk the file's structure in a child process; a libhdf5 hang or crash becomes a FormatError.

    ``RNNCONVERT_HDF5_DEADLINE`` sets the seconds (default 60; 0 skips the probe, for files
    you trust). Without ``fork`` (Windows) the probe is skipped.
    """
    if deadline is None:
        try:
            deadline = float(os.environ.get(PROBE_DEADLINE_ENV, DEFAULT_DEADLINE))
        except ValueError:
            deadline = DEFAULT_DEADLINE
    if not hasattr(os, "fork") or not deadline > 0:
        return
    name = os.fspath(path)
    msg = _SERVER.probe(name, deadline) if _heavy() and not _SERVER.failed else _fork_probe(name, deadline)
    if msg is None:
        raise FormatError(
            f"{where}: the HDF5 library did not finish reading the file's structure within {deadline:g} s "
            f"(read in a child process with a deadline; {PROBE_DEADLINE_ENV} sets it): corrupt HDF5"
        )
    if not msg.endswith("\n"):
        raise FormatError(f"{where}: the HDF5 library crashed reading the file's structure: corrupt HDF5")
    if msg.strip():
        raise FormatError(f"{where}: not a readable HDF5 Keras file ({msg.strip()})")


def _heavy() -> bool:
    """A resident set over HEAVY_RSS (Linux's /proc; elsewhere the probe forks as before)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return False
    return resident_pages * os.sysconf("SC_PAGE_SIZE") > HEAVY_RSS


def _run_child(path: str, wfd: int) -> None:
    """In the forked child: report and leave at once, running no interpreter teardown."""
    code = 0
    try:
        os.write(wfd, _probe_child(path).encode("utf-8", "replace")[:4000] + b"\n")
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _fork_probe(path: str, deadline: float) -> str | None:
    """Fork this process; the child's report, or None at the deadline (the child killed)."""
    from h5py._objects import phil  # held across fork: the child must not inherit it locked by another thread

    rfd, wfd = os.pipe()
    with phil:
        pid = os.fork()
    if pid == 0:
        os.close(rfd)
        _run_child(path, wfd)
    os.close(wfd)
    try:
        msg = _read_until_eof(rfd, time.monotonic() + deadline)
    finally:
        os.close(rfd)
        if msg is None:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return msg


def _read_until_eof(fd: int, end: float) -> str | None:
    """Everything written to ``fd`` until it is closed; None at ``end`` (time.monotonic)."""
    chunks: list[bytes] = []
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        block = os.read(fd, 65536)
        if not block:
            return b"".join(chunks).decode("utf-8", "replace")
        chunks.append(block)


class _Server:
    """The probe server of this process: started on first use, replaced after a missed deadline."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.owner = 0  # the pid that started ``proc``: a forked child starts its own server
        self.lock = threading.Lock()
        self.failed = False  # it could not start or answer: this process forks from then on
        atexit.register(self._stop)

    def probe(self, path: str, deadline: float) -> str | None:
        with self.lock:
            end = time.monotonic() + deadline
            try:
                proc = self._started()
                assert proc.stdin is not None and proc.stdout is not None
                # absolute: the server keeps the working directory it started in
                proc.stdin.write(json.dumps(os.path.abspath(path)).encode() + b"\n")
                proc.stdin.flush()
                line = _read_line(proc.stdout.fileno(), end)
            except OSError:
                line = b""  # the server died (killed from outside): the probe is lost, not the file's fault
            if line is None:  # the deadline: the server and its child go
                self._stop()
                return None
            if not line.endswith(b"\n"):  # it died without a word: this file, and the next, go through a fork
                self._stop()
                self.failed = True
                return _fork_probe(path, max(1e-3, end - time.monotonic()))
            return json.loads(line)["report"]

    def _started(self) -> subprocess.Popen[bytes]:
        if self.owner != os.getpid():  # inherited through fork: the parent's pipes are not ours
            self.proc = None
        if self.proc is None or self.proc.poll() is not None:
            self.owner = os.getpid()
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
            code = f"import sys; sys.path.insert(0, {root!r}); {SERVER_CODE}"
            threads = dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1")
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code],
                env={**os.environ, **threads},  # no BLAS threads: the server forks, it never computes
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: killed with its child at a deadline
                close_fds=True,
            )
        return self.proc

    def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or self.owner != os.getpid():  # a forked child leaves its parent's server alone
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()  # a server between probes reads EOF and leaves
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()


_SERVER = _Server()


def _read_line(fd: int, end: float) -> bytes | None:
    """One line from ``fd`` (b'' or a partial line if it closed first); None at ``end``."""
    buf = b""
    while not buf.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        block = os.read(fd, 65536)
        if not block:
            return buf
        buf += block
    return buf


def serve() -> None:
    """The probe server's loop: a JSON path per line in, ``{"report": ...}`` per line out.
    A report without its final newline means the child crashed (as for a direct fork)."""
    for line in sys.stdin.buffer:
        path = json.loads(line)
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            _run_child(path, wfd)
        os.close(wfd)
        chunks = []
        while block := os.read(rfd, 65536):
            chunks.append(block)
        os.close(rfd)
        os.waitpid(pid, 0)
        report = b"".join(chunks).decode("utf-8", "replace")
        sys.stdout.write(json.dumps({"report": report}) + "\n")
        sys.stdout.flush()
