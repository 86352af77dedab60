r"""Supervised fine-tuning: DeepSeekMath-Instruct (arXiv:2402.03300 §3.2).

  python -m deepseekmath_jax.main --config=configs/sft.py:tiny --workdir=/tmp/sft_tiny
  python -m deepseekmath_jax.main --config=configs/sft.py:deepseekmath_7b --workdir=runs/sft_7b \
      --config.init_from=hf:/path/deepseek-math-7b-base

Variants:
  tiny              the tiny model on generated question/answer pairs; 20 steps on CPU.
  deepseekmath_7b   the paper's settings: examples packed ("randomly concatenated") to 4K
                    tokens, batch 256, 500 steps, constant lr 5e-5, from DeepSeekMath-Base
                    (`init_from`, a Hugging Face directory or a pretraining workdir). The
                    paper's 776K-example SFT set is not released; the default data are
                    GSM8K and MATH train (../shared/data), with the loss on responses only
                    (the paper does not say; §4.2 of reference/paper_spec.md).

Chat format: `User: {question}\n\nAssistant: {answer}<EOS>` (data/tokenizer.py).
"""

import ml_collections

from deepseekmath_jax import config_lib

_RECIPES = {
    "tiny": dict(model="tiny", seq_len=64, batch_size=8, num_microbatches=1, steps=20,
                 checkpoint_every=5, peak_lr=1e-3),
    "deepseekmath_7b": dict(model="deepseekmath_7b", seq_len=4096, batch_size=256,
                            num_microbatches=1, steps=500, checkpoint_every=100, peak_lr=5e-5),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="tiny", tiny=False, steps=0)
  variant = "tiny" if a.tiny else a.variant
  if variant not in _RECIPES:
    raise ValueError(f"configs/sft.py: unknown variant {variant!r}; known: {sorted(_RECIPES)}")
  recipe = dict(_RECIPES[variant])
  if a.steps:
    recipe["steps"] = a.steps
  tiny = variant == "tiny"
  if tiny:
    sources = dict(synthetic=config_lib.source_config("synthetic", num_records=2000))
    tokenizer = config_lib.tokenizer_config("train_sentencepiece_on_source", vocab_size=256,
                                            train_num_docs=300)
  else:
    data_dir = "../shared/data"
    sources = dict(
        gsm8k=config_lib.source_config(
            "jsonl", path=f"{data_dir}/gsm8k/train.jsonl",
            eval_path=f"{data_dir}/gsm8k/test.jsonl", prompt_field="question",
            response_field="answer"),
        math=config_lib.source_config(
            "jsonl", path=f"{data_dir}/math/math_train.jsonl", prompt_field="problem",
            response_field="solution"))
    tokenizer = config_lib.tokenizer_config("hf_json", path="tokenizers/deepseek-math-7b-base")
  data = config_lib.data_config("sft", sources)
  data.mixture_unit = "documents"  # SFT mixes examples, not a token budget
  data.eval_max_batches = 2 if tiny else 10
  # §3.2 gives no warmup: the constant rate from the first step.
  opt = config_lib.opt_config(schedule="constant", peak_lr=recipe["peak_lr"], warmup_steps=0)
  config = config_lib.trainer_config(stage="sft", recipe=recipe, data=data, tokenizer=tokenizer,
                                     opt=opt, tiny=tiny)
  if not tiny:
    config.init_from = "hf:models/deepseek-math-7b-base"
    config.eval.every = 100
  return config
