# Quick start:  make demo  (set up, build, grade the example submissions)
#               make test  (set up, run the project's tests)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= grading-output

.PHONY: setup build check-stale lint demo test test-fast clean

setup: $(VENV)/.installed

# Everything a grade depends on is pinned in constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt scripts/install.sh
	$(PYTHON) -m venv $(VENV)
	PYTHON=$(BIN)/python bash scripts/install.sh dev
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3"
	@bash scripts/ensure-bubblewrap.sh
	@bash scripts/ensure-chromium.sh
	touch $@

build: setup
	$(BIN)/gene46100 build

# Exit 1, listing them, when generated files differ from a fresh build.
check-stale: setup
	$(BIN)/gene46100 build --check

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The weeks come from the course registry (gene46100/course.py).
WEEKS ?= $(shell $(BIN)/python -m gene46100.course)

demo: build
	@for week in $(WEEKS); do \
	  $(BIN)/gene46100 grade $$week examples/submissions/$$week --out $(OUT)/$$week \
	    --jobs 2 --cell-timeout 20 || exit 1; \
	done

test: setup
	$(BIN)/python -m pytest

# The edit-test loop: everything but the tests marked slow (CI runs them all).
test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(OUT)
