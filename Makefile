# The two commands of the README:
#   make book   build the rendered book into _build/html (quick profile by default)
#   make test   pytest + nbval over every notebook + the book build with -W,
#               then every page read in headless Chromium (tools/browser_check.py)
# Both create (or reuse) the virtual environment .venv and install everything.
#
# TORCH_SPEC picks the torch release and TORCH_INDEX the index it comes from. Left
# alone, pip chooses (a CUDA build on Linux); TORCH_INDEX=https://download.pytorch.org/whl/cpu
# takes the CPU build. They are read when the environment is (re)installed.

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch>=2.2
TORCH_INDEX ?=
EXTRAS     ?= test,book
BIGTEXT_PROFILE ?= quick
export BIGTEXT_PROFILE

BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book pdf tex test test-lib test-notebooks test-book chromium execute publish bench colab-twin clean

# Reinstall only when the project's requirements change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url "$(TORCH_INDEX)")
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/python tools/render_results.py
	$(BIN)/python tools/execute_missing.py
	$(BIN)/jupyter-book build . --builder html
	@echo "Open _build/html/index.html"

# The book as one PDF, _build/latex/bigtext.pdf: Sphinx's LaTeX builder, then latexmk
# with XeLaTeX, from the same committed outputs as `make book`. Not in `make test`/CI.
pdf: $(STAMP) tex
	$(BIN)/python tools/render_results.py
	$(BIN)/python tools/execute_missing.py
	rm -rf _build/latex
	LATEXOPTS="-interaction=nonstopmode -halt-on-error" \
		$(BIN)/jupyter-book build . --builder pdflatex
	@echo "PDF: _build/latex/bigtext.pdf"

# Debian's TeX Live for `make pdf` (about 400 MB, two minutes of apt-get), installed when
# missing and apt can (as root), like chromium below; IPAGothic sets the book's CJK text.
TEX_PACKAGES := latexmk texlive-xetex texlive-latex-recommended texlive-latex-extra \
	texlive-fonts-recommended fonts-freefont-otf fonts-lmodern fonts-ipafont-gothic xindy
TEX_FOUND = command -v latexmk && command -v xelatex && command -v xindy \
	&& kpsewhich fncychap.sty changepage.sty ucharclasses.sty pgfplots.sty \
	&& fc-list | grep -q FreeSerif && fc-list | grep -q IPAGothic
tex:
	@{ $(TEX_FOUND); } >/dev/null 2>&1 || { test "$$(id -u)" = 0 && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES); } \
	  || { echo "make pdf needs TeX Live: sudo apt-get install --no-install-recommends $(TEX_PACKAGES)"; exit 1; }

test: test-lib test-notebooks test-book

test-lib: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests

# --nbval-lax: run every cell, compare only cells tagged nbval-check-output;
# --durations=0: each cell's time, so a chapter's quick runtime can be read off the log.
test-notebooks: $(STAMP)
	$(BIN)/python -m pytest -q --nbval-lax --nbval-current-env --durations=0 \
		--nbval-cell-timeout=900 --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks

test-book: $(STAMP) chromium
	rm -rf _build
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	test -f _build/html/index.html
	$(BIN)/python tools/check_html.py _build/html
	$(BIN)/python tools/browser_check.py _build/html --screenshots _build/screenshots

# The browser test reads every page in headless Chromium (Debian's package).
# Installed here when missing and apt can (CI runs as root); elsewhere install it
# yourself, e.g. `sudo apt-get install chromium`.
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) \
	  || { echo "headless Chromium is needed for the browser test: sudo apt-get install chromium"; exit 1; }

# Re-run every notebook in place so its committed outputs come from a real run
# (BIGTEXT_PROFILE=full make execute for the published run, on a GPU).
execute: $(STAMP)
	for nb in notebooks/*.ipynb; do \
		$(BIN)/jupyter execute --inplace --timeout=3600 "$$nb" || exit 1; done

# The published run: every chapter's full profile into results/, from a clean commit, on a
# GPU. Rerun the same command after a cut-off: chapters already complete are kept.
publish: $(STAMP)
	$(BIN)/bigtext publish --profile full

# Every chapter as a learner runs it on Colab: a Python 3.13 environment with Colab's
# packages (tools/colab/runtime.txt), each chapter's install cell against a local clone of
# HEAD, then the chapter in the quick profile. About 6 GB and 15 minutes; not in CI.
colab-twin: $(STAMP)
	$(BIN)/python tools/colab_twin.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_imdb_load.py
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf _build .pytest_cache
