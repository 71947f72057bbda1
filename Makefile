# Two commands for a fresh machine:  `make book`  builds the book;  `make test`  runs the tests.
# Both create or update the virtual environment .venv from the pinned files first, and skip that when
# nothing changed (the stamp file is newer than every pinned file).

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= quick
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.emoprobe-installed
MATHJAX := node_modules/mathjax/es5/tex-chtml.js
export HF_HUB_OFFLINE := 1

.PHONY: help book test test-fast lab benchmarks clean env
help:
	@echo "make book [PROFILE=smoke|quick|paper|rehearsal]  execute the notebooks and build the book into _build/html"
	@echo "make test                             run every test (includes executing the smoke book)"
	@echo "make test-fast                        run the tests not marked slow"
	@echo "make lab                              start JupyterLab on the notebooks"
	@echo "make benchmarks                       run the scripts in benchmarks/"
	@echo "make clean                            remove _build (keeps .venv)"

env: $(STAMP) $(MATHJAX)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

# MathJax is served from the book itself, so formulas render without a network.
$(MATHJAX): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

book: env
	$(BIN)/emoprobe book --profile $(PROFILE)

test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: env
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lab: env
	$(BIN)/jupyter lab notebooks/

benchmarks: env
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf _build
