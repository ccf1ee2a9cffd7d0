# `make run` sets everything up and starts the app; `make test` sets everything up and runs every test;
# `make test-fast` runs the quick tier (no browser, server, app or training in another process).
# `make serve REPLICAS=N PORT=P` serves N copies of the app behind nginx (deploy/README.md).
# Both create and use the virtual environment .venv with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The tests read MNIST from here; CI's clone has shared/ beside it.
export DENOISER_DATA_ROOT ?= $(abspath ../shared/mnist)
REPLICAS ?= 2
PORT ?= 8501

.PHONY: run serve nginx test test-fast lint setup setup-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamp files re-run pip only when a requirements file changes.
$(VENV)/.app-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.app-installed $@

setup: $(VENV)/.app-installed
setup-dev: $(VENV)/.dev-installed

# The server does its start-up before it opens its port, so its first page is quick (`streamlit run app.py` works too).
run: setup
	$(BIN)/python -m webapp.server

# Debian installs nginx in /usr/sbin, which is not on a normal user's PATH.
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || \
		{ echo "make serve needs nginx: sudo apt-get install nginx"; exit 1; }

serve: nginx setup
	$(BIN)/python -m deploy.serve --replicas $(REPLICAS) --port $(PORT)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup-dev lint
	$(BIN)/python -m pytest --durations=15

# Everything that needs no browser, no server, no training in another process and no whole-page AppTest:
# about a minute, for the edit-test loop. `make test` is the whole suite, and what CI runs.
FAST := not (browser or server or app or training or slow)
test-fast: setup-dev
	$(BIN)/python -m pytest -m "$(FAST)" --durations=10
