# Quick start: `make run` (chat UI; builds the index when missing) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: run test check index eval train-reader reliability bench bench-corpus browser-deps clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) -e '.[dev]'
	touch $@

run: $(VENV)/.base
	$(PY) app.py

index: $(VENV)/.base
	$(VENV)/bin/qa build

# Every dev and held-out question set against its corpus (indexes cached in .cache/indexes/).
eval: $(VENV)/.base
	$(PY) scripts/eval_all.py $(EVAL_ARGS)

# Fit the reader (span scorer, confidence, thresholds) on data/train (written questions, never
# evaluated); writes qa/models/reader.json, which ships with the package. CI does not retrain.
train-reader: $(VENV)/.dev
	$(PY) scripts/train_reader.py

# Reliability diagram of the reader's confidence on the held-out sets (docs/reliability.png).
reliability: $(VENV)/.dev
	$(PY) scripts/reliability.py

bench: $(VENV)/.dev
	$(PY) -m bench $(BENCH_ARGS)

# Build speed at corpus scale (the 31 provincial .docx) against the model's own throughput.
bench-corpus: $(VENV)/.dev
	$(PY) -m bench.corpus_scale

browser-deps:
	bash scripts/install-browser.sh

test: $(VENV)/.dev browser-deps
	$(PY) -m pytest

check: $(VENV)/.dev
	$(VENV)/bin/ruff check qa tests app.py
	$(VENV)/bin/ruff format --check qa tests app.py
	$(VENV)/bin/mypy qa

clean:
	rm -rf $(VENV) index .cache .pytest_cache .mypy_cache .ruff_cache
