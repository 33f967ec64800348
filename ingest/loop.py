"""The shared intake writer's loop: one process per web server commits what all
its web workers accept.

Under gunicorn (gunicorn.conf.py) the web workers hand each webhook's rows to
this process over a Unix socket (ingest/wire.py) instead of to a writer thread
of their own. Measured on 2 cores, interleaved with the writer-thread design at
the same 8 threads: PostgreSQL 0.43 -> 0.46 to 0.56 of the bare endpoint,
SQLite 0.47 -> 0.48 to 0.58 (machine noise is most of the spread). The groups
of both workers are merged (7 to 10 requests per INSERT against 3 to 5), and
the commit no longer waits for a web worker's interpreter lock after each
database and Redis round trip.

A request is answered only after its rows are committed, exactly as with the
in-process writer; the classification flag is set after the answers, and
reconciliation covers a writer killed in between. The process itself is
`python -m service.intake_server`, kept running by ingest/supervisor.py.
"""

import logging
import os
import selectors
import socket
import time

from ingest.group_commit import run_then, write_apart
from ingest.wire import FrameError, FrameReader, frame
from ingest.writer import IntakeWriter

log = logging.getLogger(__name__)
GATHER_SECONDS = 0.002  # the longest a group waits for more requests after its first
FLAG_EVERY_SECONDS = 0.05
MAX_GROUP = 256
READ_SIZE = 65536  # below malloc's mmap threshold: a 1 MiB read buffer cost a page-mapping round trip per read


class _Client:
    __slots__ = ("sock", "reader")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = FrameReader()


class WriterLoop:
    """One thread, no locks: read every request that has arrived, write them as
    one group, answer each on its own connection.

    A group is what arrived while the last one was being written, topped up for
    at most GATHER_SECONDS, and no longer than until every connected web thread
    has a request waiting (each connection carries one request at a time, so
    then nothing more can come).

    The classification flag (IntakeWriter.queue) follows the answers: at once
    when the writer is idle (a look at its sockets finds nothing to read),
    otherwise once FLAG_EVERY_SECONDS have passed since the last. One SET NX
    after a commit is all a classification drain needs
    (workers/classify_queue.py), so under load one Redis round trip serves many
    groups; one per group was a third of the writer's time.
    """

    def __init__(self, listener: socket.socket, writer: IntakeWriter, gather_seconds: float = GATHER_SECONDS):
        self.listener = listener
        self.writer = writer
        self.gather_seconds = gather_seconds
        self.stopping = False
        self._selector = selectors.DefaultSelector()
        self._clients: dict[int, _Client] = {}
        self._waiting: list[tuple[_Client, list]] = []
        self._owed: list[tuple[list, tuple]] = []  # (batch, outcome) committed since the last flag
        self._flagged_at = 0.0

    def run(self, parent_pid: int | None = None) -> None:
        self.listener.setblocking(False)
        self._selector.register(self.listener, selectors.EVENT_READ)
        deadline = None
        try:
            while not self.stopping:
                if parent_pid is not None and os.getppid() != parent_pid:
                    log.warning("intake writer: the web server is gone; stopping")
                    break
                timeout = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
                if self._owed and not self._waiting:
                    timeout = 0.0  # a flag is owed: look for more work, but do not wait for it
                events = self._selector.select(timeout)
                if not events and not self._waiting:
                    self._flag()  # idle: nothing is owed while nothing happens
                self._read(events)
                if not self._waiting:
                    deadline = None
                    continue
                if deadline is None:
                    deadline = time.monotonic() + self.gather_seconds
                if self._gathering(deadline):
                    continue
                deadline = None
                self._write(self._waiting[:MAX_GROUP])
                del self._waiting[:MAX_GROUP]
                if time.monotonic() - self._flagged_at >= FLAG_EVERY_SECONDS:
                    self._flag()
        finally:
            if self._waiting:  # sent before the stop: their senders are waiting for the answer
                self._write(self._waiting)
            self._flag()
            for client in list(self._clients.values()):
                self._drop(client)
            self._selector.close()

    def _gathering(self, deadline: float) -> bool:
        waiting = len(self._waiting)
        return waiting < len(self._clients) and waiting < MAX_GROUP and time.monotonic() < deadline

    def _read(self, events) -> None:
        for key, _ in events:
            if key.fileobj is self.listener:
                self._accept()
                continue
            client = self._clients.get(key.fd)
            if client is None:
                continue
            try:
                data = client.sock.recv(READ_SIZE)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self._drop(client)  # a request it had sent is still written; only the answer is lost
                continue
            try:
                values = client.reader.feed(data)
            except FrameError as error:
                log.warning("intake writer: dropping a connection that sent a bad frame", extra={"error": str(error)})
                self._drop(client)
                continue
            for value in values:
                if _is_batch(value):
                    self._waiting.append((client, value))
                else:
                    self._answer(client, {"error": "a request must be a list of rows"})

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. out of file descriptors: the connection waits in the backlog
                log.error("intake writer: accepting a connection failed", extra={"error": type(error).__name__})
                return
            # Non-blocking: no poll before each read and write (a socket with a timeout has one).
            # An answer the socket cannot take at once means a web thread that stopped reading
            # its answers: it loses its connection (_answer) rather than hold up the others.
            sock.setblocking(False)
            client = _Client(sock)
            self._clients[sock.fileno()] = client
            self._selector.register(sock, selectors.EVENT_READ)

    def _drop(self, client: _Client) -> None:
        if self._clients.pop(client.sock.fileno(), None) is None:
            return
        self._selector.unregister(client.sock)
        client.sock.close()

    def _write(self, group: list[tuple[_Client, list]]) -> None:
        batches = [batch for _, batch in group]
        outcomes = write_apart(self.writer.store, batches)
        failed = [error for _, error in outcomes if error is not None]
        for (client, _), (saved, error) in zip(group, outcomes, strict=True):
            reply = {"ids": saved.ids, "duplicates": saved.duplicates} if error is None else {"error": "not committed"}
            self._answer(client, reply)
        if failed:
            errors = sorted({_error_name(error) for error in failed})
            log.error("intake writer: requests not committed", extra={"requests": len(failed), "errors": errors})
        self._owed.extend(zip(batches, outcomes, strict=True))

    def _flag(self) -> None:
        if not self._owed:
            return
        owed, self._owed = self._owed, []
        self._flagged_at = time.monotonic()
        run_then(self.writer.queue, [batch for batch, _ in owed], [outcome for _, outcome in owed])

    def _answer(self, client: _Client, reply: dict) -> None:
        if client.sock.fileno() not in self._clients:
            return  # gone while its rows were written: they are committed, the platform's retry is a duplicate
        try:
            client.sock.sendall(frame(reply))
        except OSError:
            self._drop(client)


def _is_batch(value) -> bool:
    return isinstance(value, list) and all(isinstance(row, dict) for row in value)


def _error_name(error: BaseException) -> str:
    return type(getattr(error, "orig", None) or error).__name__
