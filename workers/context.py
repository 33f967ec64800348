"""Settings and configuration for jobs, read once per worker process."""

from functools import lru_cache

from core.config import AppConfig, load_config
from core.settings import Settings, load_settings


@lru_cache(maxsize=1)
def app_context() -> tuple[Settings, AppConfig]:
    settings = load_settings()
    return settings, load_config(settings.config_path)


def reset() -> None:
    """Forget the cached context (tests change the environment between cases)."""
    app_context.cache_clear()
