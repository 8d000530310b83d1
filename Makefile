# Two commands do everything: `make demo` and `make test`.
#   make test                  TensorFlow, the default backend (.venv, from requirements.lock)
#   make test BACKEND=jax      JAX alone, no TensorFlow (.venv-jax, from requirements-jax.lock)
#   make test BACKEND=torch    PyTorch alone (.venv-torch, from requirements-torch.lock)
PYTHON  ?= python3
BACKEND ?= tensorflow

ifeq ($(BACKEND),tensorflow)
VENV := .venv
LOCK := requirements.lock
else ifneq ($(filter $(BACKEND),jax torch),)
VENV := .venv-$(BACKEND)
LOCK := requirements-$(BACKEND).lock
else
$(error BACKEND=$(BACKEND): the lessons run on tensorflow, jax or torch)
endif
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN   := KERAS_BACKEND=$(BACKEND) $(PY)
# uv resolves the locks for every platform (--universal) and the oldest Python we support.
UV    := $(PY) -m uv pip compile --universal --python-version 3.11 --quiet
TORCH_CPU := 2.13.0+cpu

.PHONY: demo test lint pages check-pages mutants lock test-latest clean

$(STAMP): $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	touch $(STAMP)

demo: $(STAMP)           ## run every lesson in its quick class mode, then print a summary table
	$(RUN) run_demo.py

# One test process per core (pytest-xdist); a file's tests stay in one process (see
# tests/conftest.py), so its module fixtures are made once, and the groups go out in the order
# conftest.py gives them, not by their number of tests. PYTEST_FLAGS= runs them in one.
PYTEST_FLAGS ?= -n auto --dist loadgroup --no-loadscope-reorder

test: $(STAMP)           ## run the test suite on the chosen backend
	$(RUN) -m pytest $(PYTEST_FLAGS)

lint: $(STAMP)           ## check formatting and style with ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

pages: $(STAMP)          ## the lesson pages in site/ (QUICK=1: the lessons' quick settings)
	$(RUN) pages/build.py $(if $(QUICK),--quick) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

check-pages: $(STAMP)    ## open every page in headless Chromium; screenshots in site-check/
	$(PY) pages/check_site.py

mutants: $(STAMP)        ## break each lesson on purpose and check that its tests notice
	$(RUN) tests/mutants.py

lock: $(STAMP)           ## refresh the three lock files from the requirements files (online)
	$(UV) requirements.txt requirements-jax.txt requirements-dev.txt requirements-pages.txt \
		-o requirements.lock
	$(UV) requirements-jax.txt requirements-dev.txt -o requirements-jax.lock
	echo "torch==$(TORCH_CPU)" | $(UV) requirements-torch.txt requirements-dev.txt - \
		--extra-index-url https://download.pytorch.org/whl/cpu -o requirements-torch.lock

test-latest:             ## the newest versions the requirements allow, in .venv-latest: what breaks next
	test -x .venv-latest/bin/python || $(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade -r requirements.txt \
		-r requirements-jax.txt -r requirements-dev.txt -r requirements-pages.txt
	.venv-latest/bin/python -m pip list --format=freeze > .venv-latest/versions.txt
	KERAS_BACKEND=tensorflow .venv-latest/bin/python -m pytest $(PYTEST_FLAGS)

clean:
	rm -rf outputs .pytest_cache site site-build site-check
