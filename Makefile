# The two commands of the quickstart: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
EMBER  := $(VENV)/bin/ember

.PHONY: demo test bench lint clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

# training extras: progress bars (tqdm), checkpoints (safetensors), plots (matplotlib)
# setup.py compiles ember's C kernels (ember/ops/*_kernel.c) in the same install
$(VENV)/.demo: pyproject.toml setup.py ember/ops/lstm_kernel.c ember/ops/update_kernel.c ember/ops/conv_kernel.c ember/ops/conv_avx2.c ember/ops/conv_avx2.h ember/ops/pool_kernel.c ember/ops/pool_kernel.h ember/ops/conv_common.h ember/ops/linear_kernel.c ember/ops/elementwise_kernel.c ember/ops/simd.h $(VENV)/.created
	$(PIP) install --quiet -e '.[train]'
	touch $@

$(VENV)/.test: pyproject.toml setup.py ember/ops/lstm_kernel.c ember/ops/update_kernel.c ember/ops/conv_kernel.c ember/ops/conv_avx2.c ember/ops/conv_avx2.h ember/ops/pool_kernel.c ember/ops/pool_kernel.h ember/ops/conv_common.h ember/ops/linear_kernel.c ember/ops/elementwise_kernel.c ember/ops/simd.h $(VENV)/.created
	$(PIP) install --quiet -e '.[test]'
	touch $@

# The main job, on data that needs no download: a 3-class spiral (decision boundary plot)
# and MNIST-1D (the residual MLP of the MNIST-1D paper). Results and plots go to runs/.
demo: $(VENV)/.demo
	$(EMBER) train --dataset spirals --model mlp --hidden 64 64 --optimizer adam --lr 1e-2 \
		--epochs 40 --out runs/demo-spirals
	$(EMBER) train --dataset mnist1d --model resmlp --optimizer adam --lr 1e-2 \
		--batch-size 100 --epochs 60 --out runs/demo-mnist1d
	@echo "plots: runs/demo-spirals/decision_boundary.png, runs/*/history.png"

test: $(VENV)/.test
	EMBER_REQUIRE_TORCH=1 EMBER_REQUIRE_KERNELS=1 $(PY) -m pytest -q

bench: $(VENV)/.test
	cd benchmarks && ../$(PY) overhead.py && ../$(PY) run.py

lint: $(VENV)/.test
	$(PIP) install --quiet ruff
	$(PY) -m ruff check ember tests examples benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis runs
