r"""Continued pretraining (arXiv:2402.03300 §2.2.1, §2.3).

  python -m deepseekmath_jax.main --config=configs/pretrain.py:tiny --workdir=/tmp/pt_tiny
  python -m deepseekmath_jax.main --config=configs/pretrain.py:1b --workdir=runs/pt_1b
  python -m deepseekmath_jax.main --config=configs/pretrain.py:deepseekmath_7b \
      --workdir=/mnt/shared/pt_7b --config.init_from=hf:/path/deepseek-coder-v1.5-7b

Variants (`configs/pretrain.py:<variant>`):
  tiny              ~0.1M parameters on generated text (no files); 20 steps in seconds on CPU.
  1b                the DeepSeek-LLM 1.3B recipe of the corpus comparison (§2.2.1): peak lr
                    5.3e-4, 4M-token batches (1024 x 4096) as 128 microbatches of 8, 150B
                    tokens = 35,763 steps; for one accelerator (bf16, remat, scanned layers).
  deepseekmath_7b   DeepSeekMath-Base 7B (§2.3): peak lr 4.2e-4, batch 10M tokens, 500B
                    tokens, the 56/4/10/20/10 mixture. 10M tokens at 4096 is 2441.4
                    sequences; 2432 (= 19 x 128, so it splits over up to 128 data-parallel
                    groups) gives 9,961,472 tokens a step, and 500B tokens take 50,193 steps.
                    19 microbatches of 128 sequences: one 4K sequence per chip at a time on
                    v5p-256 (8.5 GiB of 95 per chip; README "Scale: AOT compile and memory
                    plan"); the whole batch at once needs 109 GiB.

Every variant: AdamW β 0.9/0.95, weight decay 0.1, 2000 warmup steps (tiny: 2), then the
multi-step schedule (31.6% of the peak after 80% of the steps, 10% after 90%). Override any
key with `--config.a.b=v`. Arguments may also be `variant=1b,steps=100` style pairs.
"""

import ml_collections

from deepseekmath_jax import config_lib

# Per variant: model, seq_len, global batch (sequences), microbatches, steps, checkpoint
# interval, peak lr, warmup.
_RECIPES = {
    "tiny": dict(model="tiny", seq_len=64, batch_size=8, num_microbatches=1, steps=20,
                 checkpoint_every=5, peak_lr=3e-3, warmup_steps=2),
    "1b": dict(model="1b", seq_len=4096, batch_size=1024, num_microbatches=128, steps=35_763,
               checkpoint_every=500, peak_lr=5.3e-4, warmup_steps=2000),
    "deepseekmath_7b": dict(model="deepseekmath_7b", seq_len=4096, batch_size=2432,
                            num_microbatches=19, steps=50_193, checkpoint_every=500,
                            peak_lr=4.2e-4, warmup_steps=2000),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="tiny", tiny=False, steps=0)
  variant = "tiny" if a.tiny else a.variant
  if variant not in _RECIPES:
    raise ValueError(f"configs/pretrain.py: unknown variant {variant!r}; known: "
                     f"{sorted(_RECIPES)}")
  recipe = dict(_RECIPES[variant])
  if a.steps:
    recipe["steps"] = a.steps
  tiny = variant == "tiny"
  if tiny:
    sources = dict(synthetic=config_lib.source_config("synthetic", num_records=2000))
    tokenizer = config_lib.tokenizer_config("train_sentencepiece_on_source", vocab_size=256,
                                            train_num_docs=300)
  else:
    # 1b: the math corpus alone (the §2.2 corpus comparison). 7b: §2.3's mixture, 56% DeepSeekMath
    # Corpus, 4% AlgebraicStack, 10% arXiv, 20% GitHub code, 10% Common Crawl. Paths are the
    # corpus engine's shard directories.
    weights = (dict(math_corpus=1.0) if variant == "1b" else
               dict(math_corpus=0.56, algebraic_stack=0.04, arxiv=0.10, github_code=0.20,
                    common_crawl=0.10))
    sources = {name: config_lib.source_config("array_record", path=f"corpus/{name}", weight=w)
               for name, w in weights.items()}
    tokenizer = config_lib.tokenizer_config("hf_json", path="tokenizers/deepseek-math-7b-base")
  data = config_lib.data_config("pretrain", sources)
  data.eval_max_batches = 2 if tiny else 20
  data.eval_holdout_records = 0 if tiny else 2000
  data.worker_count = 0 if tiny else 8
  opt = config_lib.opt_config(schedule="multistep", peak_lr=recipe["peak_lr"],
                              warmup_steps=recipe["warmup_steps"])
  return config_lib.trainer_config(stage="pretrain", recipe=recipe, data=data,
                                   tokenizer=tokenizer, opt=opt, tiny=tiny)
