# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the tests drive for real (browser) or the venv needs.
SYSTEM_PACKAGES := chromium fonts-liberation python3-venv coturn redis-server nodejs postgresql iproute2
# The real OpenID provider the login tests start (npm package oidc-provider).
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json
# The accessibility engine the browser tests inject into every page (npm package axe-core).
AXE := tests/axe/node_modules/.package-lock.json
# The PeerJS server the benchmarks compare the branch with (npm package peer).
PEERJS := benchmarks/peerjs/node_modules/.package-lock.json

.PHONY: run test setup system-deps certs lint typecheck unit bench clean

run: $(BIN)/branch
	$(BIN)/branch --config branch.dev.toml serve --dev

test: system-deps $(BIN)/branch $(OIDC_PROVIDER) $(AXE) $(PEERJS) lint typecheck unit

setup: system-deps $(BIN)/branch $(OIDC_PROVIDER) $(AXE) $(PEERJS)

# On demand, never part of `make test`: every scenario of docs/performance.md, a table on
# stdout and test-artifacts/bench.json. BENCH="--size quick --only relay" narrows it.
bench: system-deps $(BIN)/branch $(PEERJS)
	$(BIN)/python -m benchmarks $(BENCH)

system-deps:
	@missing=""; for pkg in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(BIN)/branch: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# npm comes with some builds of nodejs and is a Debian package of its own in others.
$(OIDC_PROVIDER): tests/oidc/package.json tests/oidc/package-lock.json | system-deps
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(AXE): tests/axe/package.json tests/axe/package-lock.json | $(OIDC_PROVIDER)
	cd tests/axe && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(PEERJS): benchmarks/peerjs/package.json benchmarks/peerjs/package-lock.json | $(OIDC_PROVIDER)
	cd benchmarks/peerjs && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

certs: $(BIN)/branch
	$(BIN)/branch certs

lint: $(BIN)/branch
	$(BIN)/ruff check branch tests benchmarks
	$(BIN)/ruff format --check branch tests benchmarks

typecheck: $(BIN)/branch
	$(BIN)/mypy

unit: $(BIN)/branch $(OIDC_PROVIDER) $(AXE) $(PEERJS)
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache test-artifacts tests/oidc/node_modules \
	  tests/axe/node_modules benchmarks/peerjs/node_modules
