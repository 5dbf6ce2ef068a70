# Plain targets for newcomers and CI. `make run` and `make test` set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run bench test test-all lint format clean

# The constraints file pins torch to the CPU build; without it pip pulls GBs of CUDA wheels.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# The main job: the `paper` discovery campaign on the embedded default store (./.eudoxus);
# it ends by printing the rules it discovered.
run: setup
	$(BIN)/eudoxus run --preset paper

bench: setup
	mkdir -p benchmarks/out
	$(BIN)/eudoxus bench sr --families paper --n 100 --json benchmarks/out/sr-paper.json
	$(BIN)/eudoxus bench sr --families beyond --n 50 --json benchmarks/out/sr-beyond.json
	$(BIN)/eudoxus bench discovery --preset paper --seeds 0,1,2 --json benchmarks/out/discovery-paper.json
	$(BIN)/eudoxus bench seq2seq --json benchmarks/out/seq2seq-cpu.json
	$(BIN)/eudoxus bench seq2seq --target symbolic --json benchmarks/out/seq2seq-cpu-symbolic.json

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

test-all: lint
	$(BIN)/python -m pytest -m ""

format: setup
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
