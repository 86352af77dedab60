r"""Evaluation stage: GSM8K, MATH or MATH500 from a predictions file or a model checkpoint.

Score a predictions file (any system's outputs; evaluation/predictions.py has the format):

  python -m deepseekmath_jax.main --config=configs/eval.py:math500 --workdir=runs/eval \
      --config.predictions=preds.jsonl

Sample from a checkpoint, e.g. DeepSeekMath-7B-RL on MATH500 on a GPU/TPU (greedy top-1 plus
64 samples at T=0.7 for maj@64/pass@64; add --config.model.dtype=bfloat16
--config.model.param_dtype=bfloat16 to run in the checkpoint's bf16):

  python -m deepseekmath_jax.main --config=configs/eval.py:math500 --workdir=runs/eval \
      --config.checkpoint=hf:/path/deepseek-math-7b-rl --config.num_samples=64

or one of this project's trainer runs, e.g. after configs/sft.py:tiny in runs/sft (the run's
architecture is its runs/sft/model_config.json, its tokenizer runs/sft/tokenizer.model):

  python -m deepseekmath_jax.main --config=configs/eval.py:gsm8k,tiny --workdir=runs/eval \
      --config.checkpoint=runs/sft

Exactly one of `predictions` and `checkpoint` is set. `checkpoint` is a trainer run's workdir
(its newest parameters), `hf:PATH` or a Hugging Face directory holding config.json
(evaluation/generate.py). The sampling protocol is the paper's: `prompt_format` (zero-shot chat
CoT for Instruct/RL models; `gsm8k_8shot` / `math_4shot` for Base models, §5.4), greedy top-1,
and `num_samples` samples at `temperature` for maj@k/pass@k (0: top-1 only; arXiv:2402.03300
§5.3, Fig. 7: 64 samples at T=0.7). Completions end at the prompt format's stop strings, EOS or
`max_new_tokens`; prompts keep their last `max_prompt_len` tokens.

Tokenizer: `tokenizer.path` if set (kind `sentencepiece` or `hf_json`; empty kind: inferred,
`.model` = sentencepiece). Otherwise the checkpoint's own: a Hugging Face directory's
tokenizer.json (kind `hf_json`, special tokens from tokenizer_config.json), or
`<run workdir>/tokenizer.model`. A run workdir brings its architecture (`model_config.json`,
saved by its trainer) and a Hugging Face checkpoint its config.json; from `model` only the
runtime keys apply to them (`model.dtype`, `model.param_dtype`, ...; `model.scan_layers` for
Hugging Face). `model` is the whole architecture only for a workdir without model_config.json.

Tool-integrated reasoning (Table 5's "Tool" columns): `configs/eval.py:math500,tool` sets
`tools.enabled` and the paper's tool prompt (`prompt_format=tool`); the model's ```python blocks
run in the sandbox (deepseekmath_jax/tools) and their output blocks are appended, up to
`tools.max_tool_calls` programs per completion. The report's `tools` section holds the calls per
sample, error and timeout rates, and top-1 with and without tools (`tools.compare_prompt_format`,
greedy, '' = skip).

Arguments (`configs/eval.py:<arg>`): a benchmark name (`gsm8k`, `math`, `math500`), `tiny` (the
first 20 problems, 512 new tokens), `strict` (strict headline), `tool` (tool-integrated), or
`key=value` pairs of the defaults below. The report (report.json/.md, problems.jsonl, PNGs)
lands in `<workdir>/eval_<benchmark>` unless `output_dir` is set.
"""

import ml_collections

from deepseekmath_jax import config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="math500", tiny=False, strict=False, tool=False)
  config = ml_collections.ConfigDict()
  config.stage = "eval"
  config.seed = 0                       # sampling keys (the same for every checkpoint)
  config.benchmark = a.variant
  config.data_dir = "../shared/data"
  config.split = "test"
  config.output_dir = ""
  config.strict = a.strict
  config.deadline_s = 2.0
  config.max_problems = 20 if a.tiny else 0
  config.disagreement_threshold = 0.5
  # What is evaluated: exactly one of the two.
  config.predictions = ""               # a predictions jsonl file to score
  config.only_predicted = False         # predictions: score only the problems it covers
  config.checkpoint = ""                # a run workdir | hf:PATH | a Hugging Face directory
  # Sampling from `checkpoint`.
  config.prompt_format = "tool" if a.tool else "zero_shot_cot"  # evaluation/prompts.py FORMATS
  config.num_samples = 64               # samples per problem for maj@k/pass@k (0 = top-1 only)
  config.temperature = 0.7              # temperature of those samples (top-1 is greedy)
  config.max_new_tokens = 512 if a.tiny else 1024
  config.max_prompt_len = 1024          # longer prompts keep their last tokens
  config.batch_size = 64                # prompts per sampler call
  config.tools = ml_collections.ConfigDict(dict(  # tool-integrated sampling (the sandbox)
      enabled=a.tool,                     # run the model's ```python blocks
      max_tool_calls=4,                   # programs per completion
      timeout_s=5.0,                      # wall-clock limit per program
      num_workers=2,                      # sandbox worker processes
      memory_mb=512,                      # address space per program (on top)
      output_limit=2048,                  # bytes of output kept per program
      compare_prompt_format="zero_shot_cot",  # greedy top-1 without tools ('' = skip)
  ))
  config.tokenizer = config_lib.tokenizer_config("")  # '' path: the checkpoint's own
  config.model = config_lib.model_config("tiny")      # runtime keys; the architecture of a
                                                      # workdir without model_config.json
  config.mesh = config_lib.mesh_config(data=-1) if a.tiny else config_lib.mesh_config(
      data=1, fsdp=-1)                  # FSDP: a 7B model's parameters sharded over devices
  config.axis_rules = config_lib.AXIS_RULES
  return config
