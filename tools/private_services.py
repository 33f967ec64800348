"""A redis-server and a PostgreSQL cluster of our own, on free ports, that a
fault run may stop, restart and flush without touching the machine's shared
ones (other test sessions use those)."""

import glob
import os
import shutil
import subprocess
import time

import psycopg
from redis import Redis

from bench.harness import free_port


class PrivateRedis:
    """redis-server without persistence: a restart comes back empty, as a lost Redis would."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            try:
                if Redis.from_url(self.url).ping():
                    return
            except Exception:  # not listening yet
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class PrivatePostgres:
    """initdb into `directory` (as the postgres user when we are root: PostgreSQL refuses to run as root)."""

    def __init__(self, directory: str):
        self.directory = directory
        self.data = os.path.join(directory, "data")
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        self.bin = binaries[-1] if binaries else os.path.dirname(shutil.which("pg_ctl") or "/usr/bin/pg_ctl")

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, os.path.join(self.bin, command[0]), *command[1:]],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")

    def init(self) -> None:
        os.makedirs(self.data, exist_ok=True)
        for directory in (os.path.dirname(self.directory), self.directory):  # the postgres user walks through them
            os.chmod(directory, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.data, "server.log"), "-w", "-t", "60",
                  "-o", options, *extra, action)  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")  # fast: connections are cut, as in a failover

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")

    def ready(self) -> bool:
        try:
            psycopg.connect(self.url.replace("+psycopg", ""), connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False
