"""Periodic jobs, declared as data and registered by the one scheduler process."""

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
    Periodic("workers.deliver.deliver_pending", queues.SLACK, 15, 60),
    Periodic("workers.digest.send_digest", queues.MAINTENANCE, 3600, 120),  # once a day: dedupe by date
)
