# Every target does its own set-up, so `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint check messages clean

$(STAMP): pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	# The constraints pin the whole tree (CPU torch 2.13.0 included); pyproject keeps loose ranges.
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gradquiz

test: $(STAMP)
	$(BIN)/ruff check gradquiz tests bench setup.py
	$(BIN)/ruff format --check gradquiz tests bench setup.py
	$(BIN)/mypy
	$(BIN)/gradquiz check --strict
	$(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check gradquiz tests bench setup.py
	$(BIN)/ruff format --check gradquiz tests bench setup.py
	$(BIN)/mypy

check: $(STAMP)
	$(BIN)/gradquiz check --strict

bench: $(STAMP)
	$(BIN)/python -m bench

# The interface's catalogue (docs/translating.md): marked strings -> the template -> every
# language's .po (new strings added, gone ones dropped) -> the .mo files the package ships.
POT := build/gradquiz.pot
messages: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel extract --keyword=plural:2,3 --add-location=file --add-comments=TRANSLATORS: \
		--sort-by-file --no-wrap --project=gradquiz -o $(POT) gradquiz
	$(BIN)/pybabel update -i $(POT) -d gradquiz/locale -D gradquiz --ignore-obsolete --no-wrap
	$(BIN)/pybabel compile -d gradquiz/locale -D gradquiz --statistics

clean:
	rm -rf $(VENV) build *.egg-info
