# make test: bootstrap .venv (if absent), install .[test], run the whole suite.
# make demo: the same bootstrap, then the whole pipeline (runs/demo/report.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test demo clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 first, so the local CPU wheel is used and no CUDA build is pulled.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Sharding tests need 8 fake CPU devices set before jax starts: their own pytest process.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile tests --ignore-glob='*_multidevice_test.py'
	$(PY) -m pytest -q $(wildcard tests/*_multidevice_test.py)

# The main job: corpus -> tokenizer -> pretrain -> SFT -> GRPO -> evaluation on one CPU.
demo: $(STAMP)
	$(PY) -m deepseekmath_jax.main --config=configs/pipeline.py:demo --workdir=runs/demo

clean:
	rm -rf $(VENV) runs .pytest_cache
