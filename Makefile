# make test: bootstrap .venv (if absent), install .[test], run the whole suite.
# make demo: the same bootstrap, then the whole pipeline (runs/demo/report.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install install-tpu install-beam test demo clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 first, so the local CPU wheel is used and no CUDA build is pulled.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# AOT compilation for TPU topologies (experiments/aot_compile.py) needs libtpu, which would
# make every jax process in .venv try (and fail) to start a TPU backend: its own venv.
TPU_VENV := .venv-tpu
TPU_STAMP := $(TPU_VENV)/.installed

$(TPU_STAMP): setup.py
	test -x $(TPU_VENV)/bin/python || $(PYTHON) -m venv $(TPU_VENV)
	$(TPU_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TPU_VENV)/bin/python -m pip install --quiet -e ".[tpu_aot]"
	touch $(TPU_STAMP)

install-tpu: $(TPU_STAMP)

# The corpus engine's Beam runner: apache-beam 2.77 needs protobuf < 7, the rest of the stack
# resolves to protobuf 7, so its test runs in its own venv (core package, beam, pytest).
BEAM_VENV := .venv-beam
BEAM_STAMP := $(BEAM_VENV)/.installed

$(BEAM_STAMP): setup.py
	test -x $(BEAM_VENV)/bin/python || $(PYTHON) -m venv $(BEAM_VENV)
	$(BEAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BEAM_VENV)/bin/python -m pip install --quiet -e ".[beam_test]"
	touch $(BEAM_STAMP)

install-beam: $(BEAM_STAMP)

# Sharding tests need 8 fake CPU devices set before jax starts: their own pytest process.
test: $(STAMP) $(TPU_STAMP) $(BEAM_STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile tests --ignore-glob='*_multidevice_test.py' --ignore-glob='*_multiprocess_test.py' --ignore=tests/aot_compile_test.py --ignore=tests/corpus_beam_test.py
	$(PY) -m pytest -q $(wildcard tests/*_multidevice_test.py)
	# Trainers as two JAX processes (loopback, 2 CPU devices each) against one process.
	$(PY) -m pytest -q $(wildcard tests/*_multiprocess_test.py)
	# The Beam pipeline (DirectRunner) against the local runner, in .venv-beam.
	$(BEAM_VENV)/bin/python -m pytest -q tests/corpus_beam_test.py
	# A 7B stage compiled for a TPU pod by .venv-tpu's python (a subprocess): fits in HBM.
	$(PY) -m pytest -q tests/aot_compile_test.py

# The main job: corpus -> tokenizer -> pretrain -> SFT -> GRPO -> evaluation on one CPU.
demo: $(STAMP)
	$(PY) -m deepseekmath_jax.main --config=configs/pipeline.py:demo --workdir=runs/demo

clean:
	rm -rf $(VENV) $(TPU_VENV) $(BEAM_VENV) runs .pytest_cache
