"""The smaller sections of the YAML configuration: `slack`, `routes`, `model`, `incidents`,
`retention` and `digest`, each a frozen dataclass and the function that reads it (`sla` and
`urgency` have modules of their own)."""

from dataclasses import dataclass, field
from datetime import timedelta

from core.config_ownership import Assignment, parse_assign
from core.config_reader import Reader
from core.tiers import TIERS

ROUTE_KEYS = ("urgency", "source", "keywords", "brand", "language", "min_followers")


@dataclass(frozen=True)
class Route:
    channel: str
    urgency: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    brand: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    min_followers: int | None = None
    assign: Assignment | None = None  # its tickets get an owner from a pool (core.config_ownership)


@dataclass(frozen=True)
class SlackConfig:
    default_channel: str = "#support"
    escalation_channel: str = "#support-escalations"
    escalation_mentions: tuple[str, ...] = ()
    managers_channel: str | None = None


MODEL_RUNTIMES = ("auto", "torch", "onnx")  # models.onnx_forward.RUNTIMES: the model package reads no config


@dataclass(frozen=True)
class ModelConfig:
    threads: int = 2
    batch_size: int = 16  # texts per forward pass, measured best on 2 cores, see models/EVALUATION.md
    # Mentions one worker claims at a time, at most: what is waiting, up to this. The model sorts
    # them by length into batches of `batch_size`, so a burst wastes less work on padding, and each
    # claim's fixed costs (the claim, the batch's queries, its commit) are shared by more mentions:
    # 160 carried 4-7% more of a 320-mention burst than 64 on 2 cores (README, "Measured").
    claim: int = 160
    # What runs the model: "auto" is ONNX Runtime where it gives torch's float32 results faster
    # (models.onnx_forward); where the CPU also runs the branch in bfloat16 on torch, the process times
    # both once and keeps the faster (models.runtime_choice); "torch" always torch; "onnx" always ONNX
    # Runtime, the branch in float32 (every worker alike, nothing measured).
    runtime: str = "auto"


@dataclass(frozen=True)
class VolumeConfig:
    enabled: bool = True
    factor: float = 3.0  # the window's complaints against the usual count for that hour of the week
    min_count: int = 10  # fewer complaints than this is never a rise
    baseline_days: int = 28  # history looked at, in whole weeks; less history stored means no alert


@dataclass(frozen=True)
class IncidentConfig:
    enabled: bool = True
    window: timedelta = timedelta(minutes=30)
    min_authors: int = 5
    # Cosine to a cluster's centre at which a complaint joins it without neighbours of its own
    # (triage.incidents: clusters themselves grow from complaints with neighbours from at least 3
    # other customers at cosine 0.45). Of 14,343 same-brand pairs of real complaints (twcs, first
    # 2,000 customer tweets) 0.20% reach 0.70 and 0.09% reach 0.75.
    similarity: float = 0.70
    volume: VolumeConfig = field(default_factory=VolumeConfig)


@dataclass(frozen=True)
class RetentionConfig:
    """How long personal data is kept (tickets.erasure purges it, keeping the counts); None: forever."""

    resolved: timedelta | None = None  # after a ticket is resolved
    not_complaint: timedelta | None = None  # after a mention that opened no ticket, or a ticket closed as one


@dataclass(frozen=True)
class DigestConfig:
    """The managers' daily digest (workers.digest), posted to `slack.managers_channel` when one is set."""

    enabled: bool = True
    longest_waiting: int = 5  # unanswered tickets listed, longest waiting first


def parse_slack(r: Reader, raw) -> SlackConfig:
    raw = r.mapping(raw, "slack")
    r.unknown(raw, ("default_channel", "escalation_channel", "escalation_mentions", "managers_channel"), "slack")
    defaults = SlackConfig()
    managers = raw.get("managers_channel")
    return SlackConfig(
        default_channel=r.channel(raw.get("default_channel", defaults.default_channel), "slack.default_channel"),
        escalation_channel=r.channel(
            raw.get("escalation_channel", defaults.escalation_channel), "slack.escalation_channel"
        ),
        escalation_mentions=r.strings(raw.get("escalation_mentions", []), "slack.escalation_mentions"),
        managers_channel=r.channel(managers, "slack.managers_channel") if managers else None,
    )


def parse_routes(r: Reader, raw) -> tuple[Route, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.fail("routes", "must be a list of {match: ..., channel: ...}")
    routes = []
    for index, entry in enumerate(raw):
        key = f"routes[{index}]"
        entry = r.mapping(entry, key)
        r.unknown(entry, ("match", "channel", "assign"), key)
        match = r.mapping(entry.get("match"), f"{key}.match")
        r.unknown(match, ROUTE_KEYS, f"{key}.match")
        fields = {name: r.strings(match[name], f"{key}.match.{name}") for name in ROUTE_KEYS[:-1] if name in match}
        bad = set(fields.get("urgency", ())) - set(TIERS)
        if bad:
            r.fail(f"{key}.match.urgency", f"unknown tier(s) {', '.join(sorted(bad))}; tiers: {', '.join(TIERS)}")
        fields = {name: tuple(v.lower() for v in values) for name, values in fields.items()}
        min_followers = match.get("min_followers")
        if min_followers is not None and (
            isinstance(min_followers, bool) or not isinstance(min_followers, int) or min_followers < 0
        ):
            r.fail(f"{key}.match.min_followers", "must be a non-negative integer")
        routes.append(
            Route(
                channel=r.channel(entry.get("channel"), f"{key}.channel"),
                min_followers=min_followers,
                assign=parse_assign(r, entry.get("assign"), f"{key}.assign"),
                **fields,
            )
        )
    return tuple(routes)


def parse_model(r: Reader, raw) -> ModelConfig:
    raw = r.mapping(raw, "model")
    r.unknown(raw, ("threads", "batch_size", "claim", "runtime"), "model")
    values = {}
    if "runtime" in raw:
        if raw["runtime"] not in MODEL_RUNTIMES:
            r.fail("model.runtime", f"must be one of {', '.join(MODEL_RUNTIMES)}")
        values["runtime"] = raw["runtime"]
    for key, low, high in (("threads", 1, 64), ("batch_size", 1, 1024), ("claim", 1, 4096)):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                r.fail(f"model.{key}", f"must be an integer from {low} to {high}")
            values[key] = value
    return ModelConfig(**values)


def parse_incidents(r: Reader, raw) -> IncidentConfig:
    raw = r.mapping(raw, "incidents")
    r.unknown(raw, ("enabled", "window", "min_authors", "similarity", "volume"), "incidents")
    volume = r.mapping(raw.get("volume"), "incidents.volume")
    r.unknown(volume, ("enabled", "factor", "min_count", "baseline_days"), "incidents.volume")
    defaults, usual = IncidentConfig(), VolumeConfig()
    window = r.duration(raw.get("window", "30m"), "incidents.window")
    if not timedelta(minutes=1) <= window <= timedelta(days=1):
        r.fail("incidents.window", "must be from 1m to 1d")
    return IncidentConfig(
        enabled=r.flag(raw, "incidents.enabled", True),
        window=window,
        min_authors=r.number(raw, "incidents.min_authors", defaults.min_authors, 2, 10_000, integer=True),
        similarity=float(r.number(raw, "incidents.similarity", defaults.similarity, 0.3, 0.999)),
        volume=VolumeConfig(
            enabled=r.flag(volume, "incidents.volume.enabled", True),
            factor=float(r.number(volume, "incidents.volume.factor", usual.factor, 1.1, 1000)),
            min_count=r.number(volume, "incidents.volume.min_count", usual.min_count, 1, 10**6, integer=True),
            baseline_days=r.number(volume, "incidents.volume.baseline_days", usual.baseline_days, 7, 364,
                                   integer=True),  # fmt: skip
        ),
    )


def parse_retention(r: Reader, raw) -> RetentionConfig:
    raw = r.mapping(raw, "retention")
    r.unknown(raw, ("resolved", "not_complaint"), "retention")
    kept = {}
    for key in ("resolved", "not_complaint"):
        if raw.get(key) is not None:
            kept[key] = r.duration(raw[key], f"retention.{key}")
            if kept[key] < timedelta(days=1):
                r.fail(f"retention.{key}", "must be at least 1d")
    return RetentionConfig(**kept)


def parse_digest(r: Reader, raw) -> DigestConfig:
    raw = r.mapping(raw, "digest")
    r.unknown(raw, ("enabled", "longest_waiting"), "digest")
    defaults = DigestConfig()
    return DigestConfig(
        enabled=r.flag(raw, "digest.enabled", defaults.enabled),
        longest_waiting=r.number(raw, "digest.longest_waiting", defaults.longest_waiting, 1, 50, integer=True),
    )
