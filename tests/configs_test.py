"""Every config loads fast, accepts `tiny`, is locked; the entrypoint reports bad keys clearly."""

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepseekmath_jax import config_lib

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO / "configs").glob("*.py") if p.name != "__init__.py")


def _load(path):
  spec = importlib.util.spec_from_file_location(f"cfg_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_loads_with_and_without_tiny(path):
  module = _load(path)
  for arg in (None, "tiny"):
    start = time.perf_counter()
    config = module.get_config(arg)
    assert time.perf_counter() - start < 1.0
    assert isinstance(config.seed, int)
    assert config.stage in ("pretrain", "sft", "grpo", "corpus", "eval", "pipeline", "solve")
    config.lock()
    with pytest.raises(AttributeError):
      config.no_such_key_anywhere = 1


def test_configs_import_no_jax():
  code = ("import sys; sys.path.insert(0, '.');\n"
          "import importlib.util, pathlib\n"
          "for p in sorted(pathlib.Path('configs').glob('*.py')):\n"
          "  s = importlib.util.spec_from_file_location(p.stem, p)\n"
          "  m = importlib.util.module_from_spec(s); s.loader.exec_module(m)\n"
          "assert 'jax' not in sys.modules, 'a config imported jax'\n")
  subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_parse_arg():
  cfg = config_lib.parse_arg("tiny,steps=3", variant="base", steps=10, tiny=False)
  assert cfg.tiny and cfg.steps == 3
  cfg = config_lib.parse_arg("deepseekmath_7b", variant="tiny")
  assert cfg.variant == "deepseekmath_7b"
  with pytest.raises(ValueError, match="unknown config argument 'bogus'"):
    config_lib.parse_arg("bogus=1", variant="tiny")
  with pytest.raises(ValueError, match="unknown model variant"):
    config_lib.model_config("13b")


def test_entrypoint_bad_key_is_one_clear_line(tmp_path):
  cmd = [sys.executable, "-m", "deepseekmath_jax.main", "--config=configs/eval.py:tiny",
         f"--workdir={tmp_path}", "--config.no_such_key=3"]
  proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
  assert proc.returncode != 0
  assert "no_such_key" in proc.stderr
  assert "Traceback" not in proc.stderr
