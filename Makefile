# Two commands do all set-up: `make demo` and `make test`.
# The install step runs again only when pyproject.toml (or the pins below) change.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch and torchvision releases known to work together (and available offline on our machines).
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha256sum | cut -c1-16)

.PHONY: install demo demo-detect test lint bench docs dist clean

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS) -e ".[dev,docs]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## Train the reference MNIST CNN and print its test accuracy (data from $VISIONDATA_HOME).
demo: install
	$(PY) -m visiondata train mnist-cnn

## Train the reference one-stage detector on synthetic shapes (offline) and print its test mAP.
demo-detect: install
	$(PY) -m visiondata train yolo-shapes

## Lint, then the whole test suite.
test: install lint
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## Every benchmark, side by side with its baseline (figures go to docs/performance.md); the reference
## detector's (benchmarks/bench_yolo_shapes.py, four trainings of about 4 minutes) runs on its own.
bench: install
	$(PY) benchmarks/bench_mnist.py
	$(PY) benchmarks/bench_index.py
	$(PY) benchmarks/bench_pipeline.py
	$(PY) benchmarks/bench_scaled_decode.py
	$(PY) benchmarks/bench_boxes.py
	$(PY) benchmarks/bench_detection_decode.py
	$(PY) benchmarks/bench_coco.py
	$(PY) benchmarks/bench_shards.py
	$(PY) benchmarks/bench_export.py
	$(PY) benchmarks/bench_shards_remote.py
	$(PY) benchmarks/bench_report.py

## Draw the pictures of the docs (scripts/make_doc_pictures.py), then build the site; its hooks (scripts/docs_*.py) write the catalog table and the command-line reference from the code.
docs: install
	$(PY) scripts/make_doc_pictures.py
	$(VENV)/bin/mkdocs build --strict

## A wheel in dist/ to install elsewhere: pip install dist/visiondata-*.whl (extras: "dist/visiondata-*.whl[shards]").
dist: install
	rm -rf dist build
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) runs site .pytest_cache dist build
