"""The shared intake writer's wire: length-prefixed JSON frames over a Unix socket.

A web request thread sends its rows (one frame: a JSON list of
ingest.rows.delivery_rows) and waits for one frame back: {"ids": [...],
"duplicates": n} once the rows are committed, or {"error": "..."} when they
were not. Each thread keeps its own connection, so a connection carries at
most one request at a time. The socket lives in a directory only this user
can enter (ingest/supervisor.py), so the wire needs no authentication.
"""

import json
import logging
import socket
import struct
import threading

from ingest.rows import Saved

log = logging.getLogger(__name__)
HEADER = struct.Struct("!I")
MAX_FRAME = 64 * 1024 * 1024  # a 1 MiB body's rows, escaped twice over, are far below this


class FrameError(ValueError):
    """Bytes that are not a frame of this wire."""


class WriterUnavailable(Exception):
    """The rows were not committed: the writer refused them or could not be reached."""


def frame(value) -> bytes:
    data = json.dumps(value, ensure_ascii=False).encode()
    if len(data) > MAX_FRAME:
        raise FrameError(f"a frame of {len(data)} bytes is over {MAX_FRAME}")
    return HEADER.pack(len(data)) + data


class FrameReader:
    """Frames out of a byte stream that arrives in pieces (the writer's non-blocking reads)."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list:
        self._buffer += data
        values = []
        while len(self._buffer) >= HEADER.size:
            size = _body_size(self._buffer)
            if len(self._buffer) < HEADER.size + size:
                break
            body = bytes(self._buffer[HEADER.size : HEADER.size + size])
            del self._buffer[: HEADER.size + size]
            values.append(_decode(body))
        return values


def _body_size(data) -> int:
    (size,) = HEADER.unpack_from(data)
    if size > MAX_FRAME:
        raise FrameError(f"a frame of {size} bytes is over {MAX_FRAME}")
    return size


def _decode(body: bytes):
    try:
        return json.loads(body)
    except ValueError as error:
        raise FrameError(f"a frame that is not JSON: {error}") from None
    except RecursionError:  # [[[[…]]]] deeper than the interpreter's stack: a bad frame, not the writer's end
        raise FrameError("a frame nested too deeply") from None


def read_frame(sock: socket.socket):
    """One frame from a blocking socket; ConnectionError when it closes first.
    A reply is small: one read usually holds all of it."""
    data = b""
    size = None
    while size is None or len(data) < HEADER.size + size:
        chunk = sock.recv(4096 if size is None else min(HEADER.size + size - len(data), 65536))
        if not chunk:
            raise ConnectionError("the intake writer closed the connection")
        data += chunk
        if size is None and len(data) >= HEADER.size:
            size = _body_size(data)
    if len(data) > HEADER.size + size:
        raise FrameError("more than one frame arrived for one request")
    return _decode(data[HEADER.size :])


def saved_from_reply(reply) -> Saved:
    if isinstance(reply, dict) and isinstance(reply.get("ids"), list) and isinstance(reply.get("duplicates"), int):
        return Saved([int(id_) for id_ in reply["ids"]], reply["duplicates"])
    if isinstance(reply, dict) and "error" in reply:
        raise WriterUnavailable(str(reply["error"]))
    raise WriterUnavailable("the intake writer answered something that is not a result")


class WriterClient:
    """The web side: each thread's own connection to the writer process."""

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        self._open: set[socket.socket] = set()  # every thread's, for close()
        self._lock = threading.Lock()

    def submit(self, rows: list[dict]) -> Saved:
        """The rows' result once committed. A connection that fails is replaced
        and the rows sent once more: the writer process may have been restarted,
        and a second write of rows that did land is absorbed as duplicates
        (source, id), never stored twice. A writer that does not answer within
        `timeout` is not asked again. WriterUnavailable when nothing worked."""
        message = frame(rows)
        for attempt in (1, 2):
            try:
                sock = self._connection()
                sock.sendall(message)
                return saved_from_reply(read_frame(sock))
            except (OSError, FrameError) as error:  # ConnectionError and BlockingIOError are OSErrors
                self._close()
                # BlockingIOError: the kernel's timeout (SO_RCVTIMEO) ran out.
                if attempt == 2 or isinstance(error, BlockingIOError | TimeoutError):
                    log.error("intake writer unreachable", extra={"error": type(error).__name__})
                    raise WriterUnavailable("the intake writer did not answer") from None
        raise AssertionError("unreachable")

    def _connection(self) -> socket.socket:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                # Blocking, with the timeout kept by the kernel: Python's own timeout
                # polls before every send and receive, two more system calls a request.
                sock.settimeout(None)
                limit = struct.pack("ll", int(self.timeout), int(self.timeout % 1 * 1_000_000))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
            except OSError:
                sock.close()
                raise
            self._local.sock = sock
            with self._lock:
                self._open.add(sock)
        return sock

    def _close(self) -> None:
        sock, self._local.sock = getattr(self._local, "sock", None), None
        if sock is not None:
            with self._lock:
                self._open.discard(sock)
            sock.close()

    def close(self) -> None:
        """Every thread's connection (for a client that outlives its threads, as in tests)."""
        with self._lock:
            socks, self._open = self._open, set()
        for sock in socks:
            sock.close()
