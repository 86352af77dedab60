"""Tool-integrated evaluation: the `tool` prompt format and the eval stage with the sandbox."""

import importlib.util
import json

import pytest

from deepseekmath_jax.evaluation import prompts
from deepseekmath_jax.evaluation import run as eval_run
from deepseekmath_jax.model import hf_io

import tools_fixtures as fx
from conftest import REPO

PROBLEMS = [("What is 6 times 7?", 42), ("What is 2 plus 3?", 5)]


def test_the_tool_prompt_is_the_papers():
  fmt = prompts.get_format("tool")
  assert fmt.build("What is 6 times 7?") == (
      "User: What is 6 times 7?\nPlease integrate natural language reasoning with programs to "
      "solve the problem above, and put your final answer within \\boxed{}.\n\nAssistant:")
  assert fmt.stop == ("\n\nUser:",)


def _eval_config(arg):
  spec = importlib.util.spec_from_file_location("eval_config", REPO / "configs" / "eval.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
  """A Hugging Face checkpoint that writes `print(6*7)`, reads the output, answers 42."""
  path = tmp_path_factory.mktemp("ckpt")
  tok = fx.tool_tokenizer(str(path / "tools"))
  i = {n: fx.token(tok, s) for n, s in (("open", fx.OPEN), ("close", fx.CLOSE),
                                         ("code", "print(6*7)\n"), ("answer", fx.ANSWER),
                                         ("nl", "\n"))}
  model = fx.bigram_model(tok, {i["open"]: i["code"], i["code"]: i["close"],
                                i["close"]: i["nl"], i["nl"]: i["answer"],
                                i["answer"]: tok.eos_id}, i["open"])
  hf_io.save_hf_checkpoint(model, str(path / "hf"))
  (path / "gsm8k").mkdir()
  (path / "gsm8k" / "test.jsonl").write_text("".join(
      json.dumps({"question": q, "answer": f"So {a}.\n#### {a}"}) + "\n" for q, a in PROBLEMS))
  return path


def test_tool_integrated_evaluation_runs(checkpoint, tmp_path):
  config = _eval_config("gsm8k,tool")
  config.data_dir = str(checkpoint)
  config.checkpoint = f"hf:{checkpoint / 'hf'}"
  config.tokenizer.path = str(checkpoint / "tools.model")
  config.num_samples = 2
  config.max_new_tokens = 32
  config.max_prompt_len = 64
  config.batch_size = 2
  config.tools.num_workers = 1
  report = eval_run.run(config, str(tmp_path))
  assert report["source"]["prompt_format"] == "tool"
  tools = report["tools"]
  # Greedy top-1 and two samples per problem: every completion ran one program, which worked.
  assert tools["tool_calls_per_sample"] == 1.0 and tools["tool_samples_with_call"] == 1.0
  assert tools["tool_error_rate"] == 0.0 and tools["tool_timeout_rate"] == 0.0
  assert tools["accuracy_with_tool"] == report["summary"]["headline_top1"] == 0.5
  assert tools["without_tool_prompt_format"] == "zero_shot_cot"
  assert tools["accuracy_without_tool"] == 0.5     # the same answer, written without a run
  rows = [json.loads(line) for line in
          (tmp_path / "eval_gsm8k" / "problems.jsonl").read_text().splitlines()]
  assert [r["top1"]["correct"] for r in rows] == [True, False]
  assert rows[0]["top1_response"] == ("```python\nprint(6*7)\n```\n```output\n42\n```\n"
                                      "\\boxed{42}")
  written = json.loads((tmp_path / "eval_gsm8k" / "report.json").read_text())
  assert written["tools"] == tools
