"""The eval stage samples from a checkpoint: a tiny Hugging Face model on a local GSM8K file."""

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from deepseekmath_jax.evaluation import generate
from tiny_hf_checkpoint import write_tiny_llama

REPO = Path(__file__).resolve().parents[1]
WORDS = ("apples pears total each more than half twice sold bought left how many does she he "
         "have step reason answer boxed final please put within the and of a is so we get "
         "minus plus times divided equals dollars hours minutes week year friends clips").split()
PROBLEMS = [
    ("Natalia has 3 apples and buys 4 more. How many apples does she have?", 7),
    ("Tom sold 10 pears and then 5 more. How many pears did he sell?", 15),
    ("A box holds 6 clips. How many clips are in 2 boxes?", 12),
    ("Weng earns 2 dollars an hour for 8 hours. How much does she earn?", 16),
]


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
  """A random 2-layer LlamaForCausalLM with a byte-level BPE tokenizer.json that fits it."""
  corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))] * 8
  corpus += [q for q, _ in PROBLEMS]
  return write_tiny_llama(tmp_path_factory.mktemp("hf"), corpus, 320)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("data")
  (path / "gsm8k").mkdir()
  lines = [json.dumps({"question": q, "answer": f"Adding up gives {a}.\n#### {a}"})
           for q, a in PROBLEMS]
  (path / "gsm8k" / "test.jsonl").write_text("\n".join(lines) + "\n")
  return path


def _main(workdir, *flags):
  return [sys.executable, "-m", "deepseekmath_jax.main", "--config=configs/eval.py:gsm8k",
          f"--workdir={workdir}", *flags]


def test_eval_stage_samples_from_hf_checkpoint(tmp_path, hf_dir, data_dir):
  proc = subprocess.run(_main(
      tmp_path / "work", f"--config.data_dir={data_dir}", f"--config.checkpoint=hf:{hf_dir}",
      "--config.max_problems=4", "--config.num_samples=2", "--config.max_new_tokens=8",
      "--config.max_prompt_len=64", "--config.batch_size=4"),
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "eval_gsm8k: greedy x1: 4/4 prompts" in proc.stderr
  assert "eval_gsm8k: T=0.7 x2: 4/4 prompts" in proc.stderr
  assert "gsm8k relaxed top-1 = " in proc.stderr and "maj@2 = " in proc.stderr
  out = tmp_path / "work" / "eval_gsm8k"
  report = json.loads((out / "report.json").read_text())
  s = report["summary"]
  assert s["num_problems"] == 4 and s["num_missing"] == 0 and s["ks"] == [1, 2]
  for key in ("top1", "maj@2", "pass@2", "pass@1"):
    assert 0.0 <= s["overall"][key] <= 1.0
  assert report["source"]["checkpoint"] == f"hf:{hf_dir}"
  assert report["source"]["num_samples"] == 2 and report["source"]["max_new_tokens"] == 8
  rows = [json.loads(line) for line in (out / "problems.jsonl").read_text().splitlines()]
  assert [r["id"] for r in rows] == [f"test/{i}" for i in range(4)]
  for r in rows:
    assert not r["missing"] and r["top1"] is not None and r["num_samples"] == 2


def test_exactly_one_of_predictions_and_checkpoint(tmp_path, hf_dir):
  preds = tmp_path / "preds.jsonl"
  preds.write_text("")
  runs = {
      "both": _main(tmp_path / "a", f"--config.predictions={preds}",
                    f"--config.checkpoint=hf:{hf_dir}"),
      "neither": _main(tmp_path / "b"),
  }
  procs = {name: subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
           for name, cmd in runs.items()}
  for name, proc in procs.items():
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0, name
    last = stderr.strip().splitlines()[-1]
    assert "config.predictions" in last and "config.checkpoint" in last, (name, last)
    assert ("both set" if name == "both" else "is empty") in last


def test_sources_and_default_tokenizers(tmp_path, hf_dir):
  assert generate.resolve_source(f"hf:{hf_dir}") == ("hf", str(hf_dir))
  assert generate.resolve_source(str(hf_dir)) == ("hf", str(hf_dir))
  run_dir = tmp_path / "run"
  (run_dir / "checkpoints").mkdir(parents=True)
  assert generate.resolve_source(str(run_dir)) == ("run", str(run_dir))
  with pytest.raises(FileNotFoundError, match="neither hf:PATH"):
    generate.resolve_source(str(tmp_path))
  # A run workdir's tokenizer is its tokenizer.model unless tokenizer.path says otherwise.
  with pytest.raises(FileNotFoundError, match="no tokenizer.model in the run workdir"):
    generate.load_tokenizer(str(run_dir))
  tok = generate.load_tokenizer(f"hf:{hf_dir}")
  assert tok.bos_id == 0 and tok.eos_id == 1
  with pytest.raises(ValueError, match="run workdir without model_config.json"):
    generate.load_model(str(run_dir), None, None, ())
  assert os.path.isfile(hf_dir / "model.safetensors")
