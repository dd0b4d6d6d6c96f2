# The quick start: `make train` (set up, then the default training job) and
# `make test` (set up, then the test suite). Both are idempotent.
.PHONY: setup train test test-all

setup:
	@bash scripts/setup.sh

train: setup
	.venv/bin/qhybrid train

test: setup
	.venv/bin/python -m pytest

# including the tests marked slow
test-all: setup
	.venv/bin/python -m pytest -m ""
