# LLM Intuition: the two commands a newcomer needs are `make book` and `make test`.
# Every target first makes sure .venv exists and holds the pinned stack
# (re-done only when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: help install book test lab serve bench release clean

help:
	@echo "make book   build the website into book/_build/html"
	@echo "make test   run the whole test suite (builds the book first)"
	@echo "make lab    open JupyterLab on the exercises"
	@echo "make serve  serve the built website on http://127.0.0.1:$(PORT)"
	@echo "make bench  print the performance figures"
	@echo "make release  regenerate exercises/ from solutions/"
	@echo "make clean  remove built and cached files"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The exercise notebooks (learner versions) become pages of the book.
book: $(STAMP)
	rm -rf book/exercises && mkdir -p book/exercises && cp -r exercises/* book/exercises/
	$(BIN)/jupyter-book build book --warningiserror --nitpick

# The test suite checks the built site, so the book is built first, with every
# chapter executed afresh (the execution cache keys on cell code only).
test: $(STAMP)
	rm -rf book/_build/.jupyter_cache
	$(MAKE) book
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --ServerApp.default_url=/lab/tree/exercises

serve:
	@test -d book/_build/html || { echo "Run 'make book' first."; exit 1; }
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory book/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

release: $(STAMP)
	for dir in solutions/*/; do $(BIN)/nbgrader generate_assignment $$(basename $$dir) --no-db --force; done

clean:
	rm -rf book/_build book/exercises .cache
