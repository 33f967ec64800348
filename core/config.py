"""The YAML configuration (`EARSHOT_CONFIG`): Slack channels, routes, SLA policies, the urgency
settings, incidents, retention and the digest.

`load_config(path)` validates the whole file up front; a mistake raises
ConfigError with the path, the key and the reason. Each section is a frozen
dataclass defined, and read, in core.config_sections, core.config_sla or
core.config_urgency.
"""

from dataclasses import dataclass, field

import yaml

from core.config_reader import Reader
from core.config_sections import (
    DigestConfig,
    IncidentConfig,
    ModelConfig,
    RetentionConfig,
    Route,
    SlackConfig,
    parse_digest,
    parse_incidents,
    parse_model,
    parse_retention,
    parse_routes,
    parse_slack,
)
from core.config_sla import SlaConfig, parse_sla
from core.config_urgency import UrgencyConfig
from core.settings import ConfigError


@dataclass(frozen=True)
class AppConfig:
    slack: SlackConfig
    routes: tuple[Route, ...]
    sla: SlaConfig
    model: ModelConfig
    urgency: UrgencyConfig
    incidents: IncidentConfig = field(default_factory=IncidentConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)


SECTIONS = ("slack", "routes", "sla", "model", "urgency", "incidents", "digest", "retention")


def parse_config(raw, source: str = "<config>") -> AppConfig:
    r = Reader(source)
    raw = r.mapping(raw, "(top level)")
    r.unknown(raw, SECTIONS, "(top level)")
    try:
        urgency = UrgencyConfig.from_config(raw.get("urgency"))
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None
    return AppConfig(
        slack=parse_slack(r, raw.get("slack")),
        routes=parse_routes(r, raw.get("routes")),
        sla=parse_sla(r, raw.get("sla")),
        model=parse_model(r, raw.get("model")),
        urgency=urgency,
        incidents=parse_incidents(r, raw.get("incidents")),
        retention=parse_retention(r, raw.get("retention")),
        digest=parse_digest(r, raw.get("digest")),
    )


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as strings: PyYAML would raise a bare ValueError
    on `2026-13-45`; as a string it is checked, and named, like any other value."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_config(path: str | None) -> AppConfig:
    if path is None:
        return parse_config({}, "<built-in defaults>")
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.load(handle, Loader=_Loader)  # _Loader is a SafeLoader
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    return parse_config(raw, path)
