# Quick start: `make run` (chat UI; builds the index when missing) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: run test check index eval train-reader train-reader-neural span-data train-span reliability bench bench-corpus browser-deps clean

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

# The same with the neural span model's features and candidates (qa/models/reader-neural.json,
# used by --neural); each training question is scored by the fold span model that never saw it.
train-reader-neural: $(VENV)/.dev
	$(PY) scripts/train_reader.py --neural

# The neural span model (qa/models/span.npz): e5-small's first 6 layers with a start/end head,
# fine-tuned on the external development data (DRCD dev, CMRC even articles) and the report
# questions of data/train. span-data writes .span/ (examples and the packed weights they need);
# train-span fine-tunes the shipped model and five fold models, each without the questions of
# one fold of reports (torch; ~2 min on a GPU, hours on a CPU). make train-reader then scores
# each training question with the fold model that never saw it.
span-data: $(VENV)/.dev
	$(PY) scripts/span_data.py

train-span: $(VENV)/.dev
	mkdir -p .span/folds
	$(PY) scripts/span_train.py --layers 6 --lr 2e-4 --epochs 4 --folds 5 --out .span/folds
	mv .span/folds/span-L6-lr0.0002-e4.npz qa/models/span.npz

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
