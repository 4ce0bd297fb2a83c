# LLM Intuition: the two commands a newcomer needs are `make book` and `make test`.
# Every target first makes sure .venv exists and holds the pinned stack
# (re-done only when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
# Scripts the website serves itself (MathJax, the widget manager): see book/vendor/.
VENDOR := book/_vendor
# The browser tests drive Debian's Chromium (never a downloaded one).
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q

.PHONY: help install book test lab serve screenshots bench release clean

help:
	@echo "make book   build the website into book/_build/html"
	@echo "make test   run the whole test suite (builds the book first)"
	@echo "make lab    open JupyterLab on the exercises"
	@echo "make serve  serve the built website on http://127.0.0.1:$(PORT)"
	@echo "make screenshots  build the website and save screenshots of every page (light, dark) in screenshots/"
	@echo "make bench  print the performance figures"
	@echo "make release  regenerate exercises/ from solutions/ and check them"
	@echo "make clean  remove built and cached files"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e ./grader
	touch $(STAMP)

# MathJax, the widget manager and RequireJS at the versions pinned in
# book/vendor/package-lock.json; only the files the pages load are copied.
$(VENDOR)/.installed: book/vendor/package.json book/vendor/package-lock.json book/vendor/require-config.js
	command -v npm >/dev/null || { $(APT_INSTALL) npm; }
	cd book/vendor && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/mathjax/input/tex $(VENDOR)/mathjax/output/chtml $(VENDOR)/html-manager
	cd book/vendor/node_modules/mathjax/es5 && cp -r tex-mml-chtml.js a11y ui $(CURDIR)/$(VENDOR)/mathjax/ \
		&& cp -r input/tex/extensions $(CURDIR)/$(VENDOR)/mathjax/input/tex/ \
		&& cp -r output/chtml/fonts $(CURDIR)/$(VENDOR)/mathjax/output/chtml/
	cp book/vendor/node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js \
		book/vendor/node_modules/@jupyter-widgets/html-manager/dist/*.woff* $(VENDOR)/html-manager/
	cp book/vendor/node_modules/requirejs/require.js book/vendor/require-config.js $(VENDOR)/
	touch $@

$(CHROMIUM):
	$(APT_INSTALL) chromium

# The exercise notebooks (learner versions) become pages of the book.
book: $(STAMP) $(VENDOR)/.installed
	rm -rf book/exercises && mkdir -p book/exercises && cp -r exercises/* book/exercises/
	$(BIN)/jupyter-book build book --warningiserror --nitpick $(BOOK_FLAGS)

# The test suite checks the built site, so the book is built first, with every
# page rebuilt (--all) and every chapter executed afresh (the execution cache
# keys on cell code only, so it goes). Trained models stay in .cache/zoo: their
# key covers the code that makes them (see course_lib/zoo.py).
test: $(STAMP) $(CHROMIUM)
	rm -rf book/_build/.jupyter_cache
	$(MAKE) book BOOK_FLAGS=--all
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=5

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --ServerApp.default_url=/lab/tree/exercises

serve:
	@test -d book/_build/html || { echo "Run 'make book' first."; exit 1; }
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory book/_build/html

# The page screenshots `make test` saves (light theme), and the dark theme too, for review.
screenshots: $(STAMP) $(CHROMIUM)
	$(MAKE) book
	COURSE_SCREENSHOT_THEMES="light dark" $(BIN)/python -m pytest tests/test_site_browser.py -q
	@echo "Screenshots are in screenshots/light and screenshots/dark"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# The same release an instructor runs (course_lib/instructor/release.py): the
# learner notebooks, recorded in a gradebook, checked for leftover answers.
release: $(STAMP)
	$(BIN)/course release

clean:
	rm -rf book/_build book/exercises $(VENDOR) book/vendor/node_modules .cache screenshots
