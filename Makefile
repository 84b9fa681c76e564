# Quick start:  make demo  (set up, build, grade the example submissions)
#               make test  (set up, run the project's tests)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= grading-output

.PHONY: setup build demo test check-stale clean

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

# The weeks come from the course registry (gene46100/course.py).
WEEKS ?= $(shell $(BIN)/python -m gene46100.course)

demo: build
	@for week in $(WEEKS); do \
	  $(BIN)/gene46100 grade $$week examples/submissions/$$week --out $(OUT)/$$week \
	    --jobs 2 --cell-timeout 20 || exit 1; \
	done

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(OUT)
