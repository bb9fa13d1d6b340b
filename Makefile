# Dry-needling FAQ assistant. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
# Rasa's command line with the project's changes to Rasa installed (rasa_patches/).
RASA       := $(BIN)/python -m rasa_patches
MODEL      := models/dry-needling.tar.gz
STAMP      := $(VENV)/.installed

# Settings (see README "Configuration"); every one can be overridden: make run CLINIC_ID=...
export CLINIC_ID          ?= apollo_calgary
export CLINICS_DIR        ?= clinics
export RASA_PORT          ?= 5005
export ACTION_PORT        ?= 5055
export WEB_PORT           ?= 8080
export ACTION_SERVER_URL  ?= http://localhost:$(ACTION_PORT)/webhook
# The action server listens on this address only (docs/security.md).
export ACTION_HOST        ?= 127.0.0.1
# Rasa's HTTP API (--enable-api) always needs a token: RASA_API_TOKEN, or one
# made up for each `make run` (the action server uses it for the live hand-off);
# RASA_JWT_SECRET lets in JWTs signed with it too.
RASA_API_FLAGS = --enable-api --auth-token "$$RASA_API_TOKEN" $(if $(RASA_JWT_SECRET),--jwt-secret "$$RASA_JWT_SECRET")
export RASA_URL ?= http://localhost:$(RASA_PORT)
export TRACKER_DB         ?= var/tracker.db
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL   := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS ?= ignore::DeprecationWarning

TRAINING_INPUTS := config.yml domain.yml $(shell find data components policies -type f \( -name '*.yml' -o -name '*.py' \) 2>/dev/null)

.PHONY: help install train run shell run-actions test validate lint test-unit test-stories clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv/ from requirements.lock (only when the lock changed)

$(STAMP): requirements.lock tools/encoder/build.py $(wildcard tools/spacy-model/*.toml tools/spacy-model/*/*)
	rm -f $(STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check pip==24.3.1 setuptools==70.3.0 wheel==0.45.1
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python \
		--no-build-isolation -r requirements.lock
	$(BIN)/python -m tools.encoder.build
	touch $@

train: $(MODEL) ## Train the model (only when config, domain, data or components changed)

$(MODEL): $(STAMP) $(TRAINING_INPUTS)
	$(RASA) train --fixed-model-name dry-needling --out models
	touch $@

validate: $(STAMP) ## Check the training data and domain (fails on warnings; the actions' own responses are only listed as unused)
	$(RASA) data validate --fail-on-warnings

lint: $(STAMP) ## Check the Python code with ruff: lint and format (settings in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

run: $(MODEL) web ## Install, train if needed, start the action server, Rasa (REST + socket.io) and the demo page
	@mkdir -p var
	@$(BIN)/python -m actions --check  # a clinic profile that cannot be used: nothing starts
	@trap 'kill 0' EXIT INT TERM; \
	export RASA_API_TOKEN="$${RASA_API_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))')}"; \
	SANIC_HOST=$(ACTION_HOST) $(BIN)/python -m actions --port $(ACTION_PORT) & \
	CORS_ORIGINS="$${CORS_ORIGINS:-http://localhost:$(WEB_PORT)}" \
		$(RASA) run --model $(MODEL) --port $(RASA_PORT) --credentials credentials.yml \
		--endpoints endpoints.yml --cors "$${CORS_ORIGINS:-http://localhost:$(WEB_PORT)}" $(RASA_API_FLAGS) & \
	$(BIN)/python -m web.serve --port $(WEB_PORT) --rasa-url http://localhost:$(RASA_PORT) --quiet & \
	echo "Rasa: http://localhost:$(RASA_PORT)  (REST: /webhooks/rest/webhook)  actions: http://localhost:$(ACTION_PORT)"; \
	echo "Demo pages: http://localhost:$(WEB_PORT)/ and /clinics/<clinic_id>/"; \
	echo "Front desk inbox: http://localhost:$(ACTION_PORT)/frontdesk/inbox/"; \
	wait -n; status=$$?; \
	echo "make run: a server stopped (exit $$status): stopping the others" >&2; \
	exit $$status

shell: $(MODEL) ## Chat in the terminal (start the action server first: make run-actions)
	$(RASA) shell --model $(MODEL) --endpoints endpoints.yml

run-actions: $(STAMP) ## Start only the action server
	SANIC_HOST=$(ACTION_HOST) $(BIN)/python -m actions --port $(ACTION_PORT)

test: $(MODEL) validate lint web ## Install, train if needed, and run every test
	$(BIN)/pytest --ignore=tests/browser
	$(MAKE) --no-print-directory test-stories
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-scaleout

test-stories: $(MODEL) ## Run the conversation tests in tests/test_stories.yml
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml \
		--fail-on-prediction-errors --out var/test-results

clean: ## Remove the trained models and test results (keeps .venv/ and var/*.db)
	rm -rf models var/test-results

# ---- Website chat widget (web/, docs/widget.md) and its browser tests (tests/browser/)
.PHONY: web browser test-browser

web: web/widget/vendor/socket.io.min.js ## Install the widget's npm packages (when web/package-lock.json changed)

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/widget/vendor/socket.io.min.js: web/node_modules/.installed
	mkdir -p $(@D)
	cp web/node_modules/socket.io-client/dist/socket.io.min.js $@

browser: ## Install Debian's Chromium for the browser tests (only when /usr/bin/chromium is missing)
	@test -x /usr/bin/chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

test-browser: $(MODEL) web browser ## Test the chat widget in headless Chromium against the real servers
	DN_BROWSER_TESTS=1 $(BIN)/pytest tests/browser

# ---- Benchmark, profiling and scale-out (bench/, docs/benchmark.md, docs/deployment.md)
.PHONY: bench profile test-scaleout

PYSPY_VERSION := 0.4.3
PYSPY_VENV    ?= /tmp/dn-py-spy
PYSPY         := $(PYSPY_VENV)/bin/py-spy

bench: $(STAMP) ## Benchmark ours against stock Rasa (trains both; BENCH_ARGS="--quick" for a smoke run) -> docs/benchmark.md
	$(BIN)/python -m bench $(BENCH_ARGS)

$(PYSPY):
	$(PYTHON) -m venv $(PYSPY_VENV)
	$(PYSPY_VENV)/bin/pip install --quiet --disable-pip-version-check py-spy==$(PYSPY_VERSION)

profile: $(MODEL) $(PYSPY) ## py-spy on the Rasa server under 20 concurrent conversations -> var/profile/ (flame graphs, top functions)
	$(BIN)/python -m bench.profile --py-spy $(PYSPY) $(PROFILE_ARGS)

test-scaleout: $(MODEL) ## Two Rasa servers on real PostgreSQL + Redis (+ nginx), installed with apt-get if missing
	DN_SCALEOUT_TESTS=1 $(BIN)/pytest tests/test_scaleout.py

# ---- Reliability and security (docs/reliability.md, docs/security.md)
.PHONY: soak audit

AUDIT_VENV ?= /tmp/dn-pip-audit

soak: $(MODEL) ## Soak test alone: 50 concurrent conversations x 20 messages on loopback -> var/soak-report.md
	$(BIN)/pytest -m soak tests/test_soak.py

audit: ## Audit requirements.lock with pip-audit (own venv in /tmp/dn-pip-audit; fails if a package cannot be checked)
	test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && \
		$(AUDIT_VENV)/bin/pip install --quiet --disable-pip-version-check pip-audit==2.10.1; }
	$(AUDIT_VENV)/bin/pip-audit -r requirements.lock --no-deps --disable-pip -s pypi --strict --progress-spinner off
