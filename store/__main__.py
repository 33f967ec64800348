"""`python -m store upgrade | revision MESSAGE` against DATABASE_URL."""

import sys

from core.settings import ConfigError, load_settings
from store import migrate


def main(argv: list[str]) -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"earshot: {error}", file=sys.stderr)
        return 2
    if argv[:1] == ["upgrade"]:
        migrate.upgrade(settings.database_url)
        return 0
    if argv[:1] == ["revision"] and len(argv) == 2:
        migrate.revision(settings.database_url, argv[1])
        return 0
    print("usage: python -m store upgrade | revision MESSAGE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
