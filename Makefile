# Set-up is part of every target: a fresh clone needs only `make test` or `make run`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins dozens of packages that clash with the function's own (packaging, urllib3…),
# so it gets a venv of its own. tests/test_terraform.py runs it from there.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# What Cloud Functions installs: requirements.txt alone, and no setuptools (python312+
# runtimes have none). tests/test_deploy_bundle.py serves a request from the zip's files with it.
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed

.PHONY: test run bench lint format snapshot diagram tf-schema clean

# `make clean` removes the three venvs, caches and the deploy zip; the next target rebuilds.

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

$(DEPLOY_STAMP): requirements.txt
	rm -rf $(DEPLOY_VENV)
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install --quiet -r requirements.txt
	$(DEPLOY_VENV)/bin/python -m pip uninstall --quiet --yes setuptools
	touch $@

test: $(STAMP) $(CHECKOV_STAMP) $(DEPLOY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

PORT ?= 8080

# Serves the function on 127.0.0.1:$(PORT) in dry-run mode: nothing is posted, no secret read,
# log lines as text. Loopback is let in by EXTRA_ALLOWED_CIDRS (the ranges service lists only
# Atlassian's addresses; it is fetched on the first request, and if it cannot be reached the
# snapshot, or the extras alone, serve).
run: $(STAMP)
	@echo "listening on http://127.0.0.1:$(PORT) (dry run: nothing is posted; Ctrl-C stops)"
	@DRY_RUN=true LOG_FORMAT=$${LOG_FORMAT:-text} \
	STATUSPAGE_PAGE_ID=$${STATUSPAGE_PAGE_ID:-j2mfxwj97wnj} \
	EXTRA_ALLOWED_CIDRS=127.0.0.1/32,::1/128 \
	$(BIN)/functions-framework --target handle_webhook --source main.py --host 127.0.0.1 --port $(PORT)

# Speed and memory, each beside a hello-world function measured in the same run (bench/bench.py).
bench: $(STAMP)
	$(BIN)/python bench/bench.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Run before `terraform apply`: bundles Atlassian's current ranges with the function.
snapshot: $(STAMP)
	$(BIN)/python -m bot snapshot

# Re-extracts the google provider schema that tests/test_terraform_schema.py checks terraform/
# against (downloads two CDK provider packages from PyPI, ~120 MB); run after using a new
# resource type.
tf-schema: $(STAMP)
	$(BIN)/python tests/google_schema.py

# Redraws the architecture picture from its source (needs graphviz: apt-get install graphviz).
diagram:
	dot -Tpng -Gdpi=110 img/architecture.dot -o img/architecture.png

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(DEPLOY_VENV) .pytest_cache .ruff_cache .hypothesis terraform/build
