# Earshot. `make run` and `make test` are the two commands; see README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PYTHONUNBUFFERED := 1
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test demo bench install install-test services chromium initial-migration clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(PY) launcher.py

# PostgreSQL and Redis run on the test machines; start them if they are down.
services:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL or Redis did not come up on 127.0.0.1" >&2; exit 1

# The dashboard's browser test drives Debian's Chromium.
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: install-test services chromium
	$(PY) -m pytest -q

demo: install
	$(PY) -m tools.demo

bench: install-test services
	$(PY) -m bench

# Before the first release only: rebuild the initial migration from store/schema.py.
initial-migration: install
	rm -f store/migrations/versions/0001_initial_schema.py /tmp/earshot-migration.db
	$(PY) -c "from store import migrate; migrate.revision('sqlite:////tmp/earshot-migration.db', 'initial schema', rev_id='0001')"
	sed -i '/^Create Date/d' store/migrations/versions/0001_initial_schema.py

clean:
	rm -rf $(VENV) instance/*.db
