"""Settings and configuration for jobs, read once per worker process."""

import os
from functools import lru_cache

from core.config import AppConfig, load_config
from core.settings import Settings, load_settings
from integrations.paging.config import PagingConfig
from integrations.paging.config import from_environ as paging_from_environ
from integrations.platforms.replies import ReplyConfig, from_environ


@lru_cache(maxsize=1)
def app_context() -> tuple[Settings, AppConfig]:
    settings = load_settings()
    return settings, load_config(settings.config_path)


@lru_cache(maxsize=1)
def reply_config() -> ReplyConfig:
    """Where public replies go (the platforms' URLs and credentials), from the environment."""
    return from_environ(os.environ)


@lru_cache(maxsize=1)
def paging_config() -> PagingConfig:
    """Where pages go (PagerDuty, the on-call webhook), from the environment; off when neither is set."""
    return paging_from_environ(os.environ)


def reset() -> None:
    """Forget the cached context (tests change the environment between cases)."""
    app_context.cache_clear()
    reply_config.cache_clear()
    paging_config.cache_clear()
