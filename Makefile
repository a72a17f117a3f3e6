# make demo: install what is missing, build the SDK, serve collector + demo site on 127.0.0.1.
# make test: install what is missing (Debian's chromium and postgresql included), build, run ruff,
# mypy, pytest. The tests start their own throwaway PostgreSQL server (tests/pg_cluster.py).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
COLLECTOR_PORT ?= 8765
DEMO_PORT ?= 8000
MICRO_PORT ?= 8766

.PHONY: system-deps install build wheel test lint demo micro bench bench-collector clean

system-deps:
	@missing=""; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	python3 -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
	  || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

build/node_modules/.installed: build/package.json build/package-lock.json
	cd build && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# TypeScript (types/allegro.d.ts checks) and @playwright/test (the testing example); no browser
# download: the example runs Debian's chromium.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
	touch $@

install: system-deps $(VENV)/.installed build/node_modules/.installed node_modules/.installed

build: install
	$(PY) build/bundle.py
	$(PY) build/bundle.py --debug --out static/allegro.debug.js
	cp types/allegro.d.ts static/allegro.d.ts

# The wheel a server installs: the collector with the built SDK bundle (docs/deploy.md).
wheel: install
	$(PY) -m pip wheel --no-deps -q -w dist .

# Another Brython release, for the test of a host page that runs its own Brython beside ours.
HOST_BRYTHON := .cache/brython-3.14.3.js
$(HOST_BRYTHON): $(VENV)/.installed
	mkdir -p .cache
	$(PY) -m pip download -q --no-deps --dest .cache brython==3.14.3
	$(PY) -c "import zipfile; open('$@', 'wb').write(zipfile.ZipFile('.cache/brython-3.14.3-py2.py3-none-any.whl').read('brython/data/brython.js'))"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: build lint $(HOST_BRYTHON)
	$(VENV)/bin/pytest

bench: build
	$(PY) -m benchmarks.load
	$(PY) -m benchmarks.metadata_cost
	$(PY) -m benchmarks.delivery

# The collector's throughput next to no-op servers (docs/scaling.md); its load comes from wrk.
bench-collector: build
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }
	$(PY) benchmarks/collector.py

# Demo-only secrets, shared by the two servers through the environment (never use them elsewhere).
DEMO_ENV := ALLEGRO_ADMIN_KEY=demo-admin-key \
	ALLEGRO_MEMBER_SECRET=demo-member-identity-secret-not-for-production \
	ALLEGRO_MEMBER_AUDIENCE=http://127.0.0.1:$(DEMO_PORT)

# Both ports must be free before anything starts (demo_site/ports.py); if one server stops, the
# other is stopped too.
demo: install
	@$(PY) -m demo_site.ports $(COLLECTOR_PORT) $(DEMO_PORT)
	@$(MAKE) --no-print-directory build
	@echo "collector: http://127.0.0.1:$(COLLECTOR_PORT)  (events in demo-events.sqlite3, admin key: demo-admin-key)"
	@echo "demo site: http://127.0.0.1:$(DEMO_PORT)/  (Ctrl-C stops both)"
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	export $(DEMO_ENV); \
	$(VENV)/bin/allegro-collector serve --host 127.0.0.1 --port $(COLLECTOR_PORT) --db demo-events.sqlite3 \
	  --allow-origin http://127.0.0.1:$(DEMO_PORT) & \
	$(PY) -m demo_site --host 127.0.0.1 --port $(DEMO_PORT) --collector http://127.0.0.1:$(COLLECTOR_PORT) & \
	wait -n; echo "make demo: a server stopped (see above); stopping the other" >&2; exit 1

# The micro collector alone (in memory, loopback only), for trying a site's tracking by hand.
micro: install
	$(VENV)/bin/allegro-collector micro --port $(MICRO_PORT)

clean:
	rm -rf $(VENV) .cache build/node_modules node_modules dist static/allegro*.js static/allegro*.js.br \
	  static/allegro*.js.gz static/manifest.json static/allegro.d.ts
