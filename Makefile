# Two commands do all set-up: `make demo` and `make test`.
# Each install step runs again only when pyproject.toml or this Makefile (its pins) change: a stamp file in
# $(VENV) keyed on their hash says it is done. `make demo` installs what the demo needs (torch, torchvision
# and visiondata's own dependencies); `make test`, `make docs` and `make bench` add the dev and docs extras.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch and torchvision releases known to work together (and available offline on our machines).
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
# Where pip finds torch. Empty: the package index pip is set up with (on Linux, PyPI's torch brings its
# CUDA libraries). `make demo TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu` takes PyTorch's
# smaller CPU-only build instead, where that index can be reached.
TORCH_INDEX_URL ?=
HASH := $(shell cat pyproject.toml Makefile | sha256sum | cut -c1-16)
BASE_STAMP := $(VENV)/.installed-base-$(HASH)
METRICS_STAMP := $(VENV)/.installed-metrics-$(HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(HASH)
# pip prints each package as it is fetched and installed; unpacking torch takes a minute or two on its own.
PIP_INSTALL := $(PY) -m pip install --progress-bar on

.PHONY: install install-demo demo demo-detect test lint mutate bench docs dist clean

$(BASE_STAMP):
	@echo "visiondata: installing torch, torchvision and visiondata into $(VENV): 3.0 GB to fetch, 5.6 GB on disk"
	@echo "  (torch's CUDA libraries are 4 GB of it); 1 minute from a local package mirror on 2 cores, plus the"
	@echo "  download time. A CPU-only torch, much smaller, where PyTorch's index can be reached:"
	@echo "  make demo TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	rm -f $(VENV)/.installed-*
	$(PIP_INSTALL) $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL)) $(TORCH_PINS)
	$(PIP_INSTALL) -e .
	touch $@

$(METRICS_STAMP): $(BASE_STAMP)
	@echo "visiondata: adding the metrics extra (torchmetrics, pycocotools) for the detector's mAP"
	$(PIP_INSTALL) -e ".[metrics]"
	touch $@

$(DEV_STAMP): $(BASE_STAMP)
	@echo "visiondata: adding the dev and docs extras (every optional backend, pytest, ruff, mkdocs):"
	@echo "  1.0 GB more on disk, 1 minute from a local package mirror on 2 cores, plus the download time"
	$(PIP_INSTALL) -e ".[dev,docs]"
	touch $@

## What the demo needs: torch, torchvision and visiondata with its own dependencies.
install-demo: $(BASE_STAMP)

## Everything a contributor needs: the demo's install, then every extra (dev, docs).
install: $(DEV_STAMP)

## Train the reference MNIST CNN and print its test accuracy (data from $VISIONDATA_HOME).
demo: install-demo
	$(PY) -m visiondata train mnist-cnn

## Train the reference one-stage detector on synthetic shapes (offline) and print its test mAP.
demo-detect: $(METRICS_STAMP)
	$(PY) -m visiondata train yolo-shapes

## Lint, then the whole test suite.
test: install lint
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## Mutation testing of the core modules (scripts/mutate.py, mutmut; not part of `make test`): lists every
## surviving mutant that no test kills and tests/mutation/*.txt does not explain, and fails if there is one.
mutate: install
	$(PY) scripts/mutate.py

## Every benchmark, side by side with its baseline (figures go to docs/performance.md). Two run on their own:
## the reference detector's (benchmarks/bench_yolo_shapes.py, four trainings of about 4 minutes) and the
## thread-contention one (benchmarks/bench_threads.py, 12 trainings, about 10 minutes, half of them beside
## a spinning process).
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

## Draw the pictures of the docs (scripts/make_doc_pictures.py, and the report's screenshot with chromium), then build the site; its hooks (scripts/docs_*.py) write the catalog table and the command-line reference from the code.
docs: install
	$(PY) scripts/make_doc_pictures.py
	@if command -v chromium >/dev/null 2>&1; then $(PY) scripts/make_report_screenshot.py docs/images/report.png; \
	else echo "skipped docs/images/report.png: the report's screenshot needs Debian's chromium"; fi
	$(VENV)/bin/mkdocs build --strict

## A wheel in dist/ to install elsewhere: pip install dist/visiondata-*.whl (extras: "dist/visiondata-*.whl[shards]").
dist: install
	rm -rf dist build
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) runs site .pytest_cache dist build
