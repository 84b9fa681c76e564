# Quick start:  make demo  (set up, build, grade the example submissions)
#               make test  (set up, run the project's tests)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= grading-output

.PHONY: setup build demo test check-stale clean

setup: $(VENV)/.installed

# Everything a grade depends on is pinned in constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3"
	@bash scripts/ensure-bubblewrap.sh
	@bash scripts/ensure-chromium.sh
	touch $@

build: setup
	$(BIN)/gene46100 build

demo: build
	$(BIN)/gene46100 grade week1 examples/submissions/week1 --out $(OUT)/week1 --jobs 2 --cell-timeout 20

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(OUT)
