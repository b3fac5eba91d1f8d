# Waypoint — `make run` to talk to it, `make test` to check it.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TRANSFORMERS_VERBOSITY := error
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: install run test test-fast lint bench ingest check eval clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# A file that fails to index is a warning (shown in the log and in /stats), not a reason not
# to start; if the whole ingest fails, the bot starts on the index as it is.
run: install
	$(BIN)/waypoint ingest --if-stale --keep-going || echo "waypoint: ingest failed; starting with the index as it is" >&2
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then \
		exec $(BIN)/waypoint run; \
	else \
		echo "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat instead."; \
		exec $(BIN)/waypoint chat; \
	fi

test: install
	$(BIN)/python -m pytest -q

# The edit loop: unit tests only (handlers included, in-process), no models, no servers.
test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not slow" tests/unit

lint: install
	$(BIN)/ruff check bot ingest tests bench
	$(BIN)/mypy bot ingest

bench: install
	$(BIN)/python -m bench

ingest: install
	$(BIN)/waypoint ingest

check: install
	$(BIN)/waypoint check

eval: install
	$(BIN)/waypoint eval eval/dev.jsonl
	$(BIN)/waypoint eval eval/heldout.jsonl

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
