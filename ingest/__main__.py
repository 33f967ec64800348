"""`python -m ingest decode-x-entities --before ISO [--dry-run]` against DATABASE_URL."""

import sys

from core.settings import ConfigError, load_settings
from ingest import decode_entities


def main(argv: list[str]) -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"earshot: {error}", file=sys.stderr)
        return 2
    if argv[:1] == ["decode-x-entities"]:
        return decode_entities.main(argv[1:], settings.database_url)
    print("usage: python -m ingest decode-x-entities --before ISO [--dry-run]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
