"""Two of everything: two schedulers (one leads by a lease in Redis) never double periodic work.
(Two dispatchers keeping one channel's pace: tests/test_delivery_lanes.py.)"""

import os
import subprocess
import sys
import time

import pytest
from rq.cron import CronScheduler, get_cron_job_ids

from workers import periodic, queues

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tick() -> None:
    """The periodic job of these tests."""


def _schedulers(redis, count: int, lease_ms: int = periodic.LEASE_MS):
    made = []
    for _ in range(count):
        scheduler = periodic.leader_scheduler(redis, periodic.LeaderLease(redis, lease_ms=lease_ms),
                                              logging_level="ERROR")  # fmt: skip
        scheduler.register(tick, queues.MAINTENANCE, interval=1, result_ttl=0, name="tick")
        scheduler.register_birth()
        made.append(scheduler)
    return made


def _run(schedulers, seconds: float) -> None:
    """Their loops, interleaved: each looks every 50 ms whether a job is due."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for scheduler in schedulers:
            scheduler.enqueue_jobs()
        time.sleep(0.05)


def test_two_schedulers_run_each_periodic_job_once(redis_url):
    redis = queues.connection(redis_url)
    first, second = _schedulers(redis, 2)
    _run([first, second], 3.5)
    assert first.leading != second.leading, "exactly one leads"
    enqueued = queues.queue(queues.MAINTENANCE, redis_url).count
    assert 3 <= enqueued <= 5, f"one job a second, not two: {enqueued} in 3.5 s"


def test_a_follower_takes_over_when_the_leader_freezes_or_stops(redis_url):
    redis = queues.connection(redis_url)
    first, second = _schedulers(redis, 2, lease_ms=500)
    _run([first, second], 0.2)
    leader, follower = (first, second) if first.leading else (second, first)
    assert leader.leading and not follower.leading
    time.sleep(0.7)  # the leader froze: no renewal, its lease runs out
    follower.enqueue_jobs()
    assert follower.leading, "the follower leads once the lease has run out"
    assert leader.enqueue_jobs() == [] and not leader.leading, "the old leader notices at its next look"
    assert follower.lease.holder() == follower.lease.token
    follower.register_death()  # a clean stop releases the lease: no waiting for it to run out
    assert redis.get(periodic.LEADER_KEY) is None
    leader.enqueue_jobs()
    assert leader.leading


def test_only_its_holder_releases_the_lease(redis_url):
    redis = queues.connection(redis_url)
    mine, theirs = periodic.LeaderLease(redis), periodic.LeaderLease(redis)
    assert mine.hold() and not theirs.hold()
    assert not theirs.release() and mine.holder() == mine.token
    assert mine.release() and theirs.hold()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_scheduler_processes_do_not_double_the_periodic_work(settings, worker_env, redis_url):
    redis = queues.connection(redis_url)
    processes = [subprocess.Popen([sys.executable, "-m", "workers", "scheduler"], cwd=ROOT, env=dict(os.environ),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]  # fmt: skip
    try:
        deadline = time.time() + 60
        while len(CronScheduler.all(redis)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert len(CronScheduler.all(redis)) == 2, "both schedulers run"
        sweep = next(job.name for job in periodic.PERIODIC_JOBS if job.func == "workers.sla.sweep")  # every 5 s
        seen = set(get_cron_job_ids(sweep, redis))
        time.sleep(11)
        runs = set(get_cron_job_ids(sweep, redis)) - seen
        assert 2 <= len(runs) <= 3, f"one sweep every 5 s, not two: {len(runs)} in 11 s"

        holder = redis.get(periodic.LEADER_KEY).decode()
        [leader] = [p for p in processes if f":{p.pid}:" in holder]
        leader.terminate()  # a warm stop releases the lease; the other takes over at its next bid
        leader.wait(timeout=20)
        deadline = time.time() + periodic.RENEW_SECONDS + 5
        while time.time() < deadline and (redis.get(periodic.LEADER_KEY) or b"").decode() in ("", holder):
            time.sleep(0.2)
        [other] = [p for p in processes if p is not leader]
        assert f":{other.pid}:" in (redis.get(periodic.LEADER_KEY) or b"").decode(), "the other one leads now"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
