"""A Slack channel's delivery state in Redis, shared by every worker process and host: a lock (two
workers never drain one channel), a "not before" time (pacing, Retry-After), a "dirty" flag (work
arrived while another worker held the lock) and the time of the follow-up job already scheduled."""

import hashlib
import time
import uuid

LOCK_MS = 60_000
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class ChannelGate:
    def __init__(self, redis, channel: str):
        digest = hashlib.sha1(channel.encode()).hexdigest()[:16]
        self.redis = redis
        self.keys = {name: f"earshot:slack:{name}:{digest}" for name in ("lock", "not_before", "dirty", "scheduled")}
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        return bool(self.redis.set(self.keys["lock"], self.token, nx=True, px=LOCK_MS))

    def release(self) -> None:
        self.redis.eval(_RELEASE, 1, self.keys["lock"], self.token)

    def mark_dirty(self) -> None:
        self.redis.set(self.keys["dirty"], 1, px=LOCK_MS)

    def take_dirty(self) -> bool:
        return self.redis.getdel(self.keys["dirty"]) is not None

    def wait_seconds(self) -> float:
        value = self.redis.get(self.keys["not_before"])
        return max(0.0, float(value) - time.time()) if value else 0.0

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self.redis.set(self.keys["not_before"], f"{time.time() + seconds:.3f}", px=int(seconds * 1000) + 1000)

    def should_schedule(self, at: float) -> bool:
        """False when a follow-up job is already due no later than `at`."""
        current = self.redis.get(self.keys["scheduled"])
        if current and float(current) <= at:
            return False
        self.redis.set(self.keys["scheduled"], f"{at:.3f}", px=int(max(at - time.time(), 0) * 1000) + 10_000)
        return True

    def follow_up_started(self) -> None:
        self.redis.delete(self.keys["scheduled"])
