"""Periodic jobs, declared as data and registered by the scheduler process; several scheduler
processes may run (a duplicate an orchestrator started, a second host): one leads, by a lease in
Redis, and only the leader enqueues."""

from dataclasses import dataclass

from workers import queues


@dataclass(frozen=True)
class Periodic:
    func: str
    queue: str
    every_seconds: int
    timeout: int

    @property
    def name(self) -> str:
        return f"{self.func}@{self.every_seconds}s"


PERIODIC_JOBS = (
    Periodic("workers.maintenance.reconcile_mentions", queues.MAINTENANCE, 30, 60),
    Periodic("workers.sla.sweep", queues.SLA, 5, 60),
    Periodic("workers.assign.sweep", queues.SLA, 30, 60),  # waiting tickets a lost fill job left
    Periodic("workers.deliver.deliver_pending", queues.SLACK, 15, 60),
    Periodic("workers.replies.repair", queues.REPLIES, 60, 60),  # lost jobs, dead workers' claims
    Periodic("workers.paging.repair", queues.PAGING, 60, 60),  # lost page jobs, dead workers' claims
    Periodic("workers.digest.send_digest", queues.MAINTENANCE, 3600, 120),  # once a day: dedupe by date
    Periodic("workers.retention.purge", queues.MAINTENANCE, 600, 300),  # at most retention.BATCH a run
)


# Leader election: every scheduler process runs, one leads. Two schedulers (an orchestrator that
# starts a duplicate, a second host) must not run every periodic job twice.
LEADER_KEY = "earshot:scheduler:leader"
LEASE_MS = 30_000  # a leader that stops renewing (killed, frozen, cut off) is replaced after this
RENEW_SECONDS = 5.0  # the loop wakes at least this often: renewals, and a follower's bid
# Take the lease if free, or renew it if ours: 1 when we lead afterwards.
_HOLD = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class LeaderLease:
    """A lease in Redis (SET NX PX), renewed by its holder and released only by it (token-checked, in Lua)."""

    def __init__(self, redis, key: str = LEADER_KEY, lease_ms: int = LEASE_MS, token: str | None = None):
        import os
        import socket
        import uuid

        self.redis, self.key, self.lease_ms = redis, key, lease_ms
        self.token = token or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def hold(self) -> bool:
        """Take or renew the lease; True while we lead."""
        return bool(self.redis.eval(_HOLD, 1, self.key, self.token, self.lease_ms))

    def release(self) -> bool:
        return bool(self.redis.eval(_RELEASE, 1, self.key, self.token))

    def holder(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


def leader_scheduler(connection, lease: LeaderLease | None = None, **options):
    """RQ's CronScheduler that enqueues only while it holds the lease; a follower keeps bidding
    every RENEW_SECONDS and, once it leads, runs at once whatever is due."""
    import logging

    from rq.cron import CronScheduler

    log = logging.getLogger(__name__)

    class LeaderCronScheduler(CronScheduler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.lease = lease or LeaderLease(connection)
            self.leading = False

        def enqueue_jobs(self):
            try:
                leading = self.lease.hold()
            except Exception:  # Redis away: follow until it is back (enqueueing would fail anyway)
                log.warning("scheduler lease unavailable", exc_info=True)
                leading = False
            if leading != self.leading:
                (log.info if leading else log.warning)("scheduler %s %s", self.name, "leads" if leading else "follows")
                if leading:  # what is due runs now, not an interval after the last leader's run
                    for job in self._cron_jobs:
                        if job.interval:
                            job.latest_enqueue_time = job.next_enqueue_time = None
            self.leading = leading
            return super().enqueue_jobs() if leading else []

        def calculate_sleep_interval(self) -> float:
            if not self.leading:
                return RENEW_SECONDS
            return min(super().calculate_sleep_interval(), RENEW_SECONDS)

        def register_death(self, *args, **kwargs):
            try:
                if self.leading:
                    self.lease.release()  # a follower takes over at its next bid, not a lease later
            finally:
                super().register_death(*args, **kwargs)

    return LeaderCronScheduler(connection=connection, **options)


def register_all(scheduler, function) -> None:
    """Register PERIODIC_JOBS with `scheduler`; `function(dotted name)` imports one."""
    for job in PERIODIC_JOBS:
        scheduler.register(
            function(job.func),
            job.queue,
            interval=job.every_seconds,
            job_timeout=job.timeout,
            ttl=job.every_seconds * 2,  # a periodic run that waited past its next turn is dropped, not piled up
            result_ttl=0,
            name=job.name,
        )
