"""gunicorn's master side of the shared intake writer: its listening socket, and
a writer process (ingest/loop.py) kept running on it.

The listening socket belongs to the master, which passes it to the writer and
starts another writer if one dies: connections made meanwhile wait in the
socket's backlog, and a request whose connection broke sends its rows again
(ingest/wire.py).
"""

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

log = logging.getLogger(__name__)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Supervisor:
    """gunicorn's master side: the socket, and a writer process kept running on it.

    `command` starts the writer process (the entry point's, e.g. `python -m
    service.intake_server`); it is given `--listen-fd FD --parent PID`."""

    RESTART_PAUSE = 1.0  # before restarting a writer that died young, so a crash loop cannot spin
    YOUNG_SECONDS = 10.0

    def __init__(self, command: list[str], log_error=None):
        self._command = list(command)
        self._log_error = log_error or (lambda message: log.error(message))
        self._directory: str | None = None
        self._listener: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._started_at = 0.0
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.path: str | None = None
        self.restarts = 0

    def start(self) -> str:
        self._directory = tempfile.mkdtemp(prefix="earshot-intake-")  # mode 0700: this user only
        self.path = os.path.join(self._directory, "intake.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(1024)
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="intake-writer-supervisor", daemon=True)
        self._watcher.start()
        return self.path

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _spawn(self) -> None:
        fd = self._listener.fileno()
        command = [*self._command, "--listen-fd", str(fd), "--parent", str(os.getpid())]
        self._process = subprocess.Popen(command, cwd=ROOT, pass_fds=(fd,))
        self._started_at = time.monotonic()

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            # poll() also sees a writer that gunicorn's own child reaping collected first (returncode 0).
            if self._process.poll() is None:
                continue
            self._log_error(f"intake writer (pid {self._process.pid}) exited; starting another")
            young = time.monotonic() - self._started_at < self.YOUNG_SECONDS
            if young and self._stopping.wait(self.RESTART_PAUSE):
                return
            self._spawn()
            self.restarts += 1

    def forget(self) -> None:
        """In a forked web worker: close the inherited listening socket, touch nothing else."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=2)
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        if self._listener is not None:
            self._listener.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
