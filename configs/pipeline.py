r"""The whole DeepSeekMath pipeline on one CPU: `make demo`.

  python -m deepseekmath_jax.main --config=configs/pipeline.py:demo --workdir=runs/demo
  python -m deepseekmath_jax.main --config=configs/pipeline.py:smoke --workdir=/tmp/smoke

Stages (deepseekmath_jax/pipeline.py), each in `<workdir>/<stage>/` and skipped when done:
data (generated problems + stdlib prose + planted duplicates and contamination) -> corpus
engine -> SentencePiece tokenizer -> pretraining from scratch -> SFT -> GRPO -> evaluation
of the pretrain, SFT and GRPO checkpoints with identical decoding -> `solve` on a few
held-out problems with the GRPO checkpoint -> report.

Variants:
  demo    under 20 minutes on 2 CPU cores: a 4-layer, 1.1M-parameter model pretrained from
          scratch on ~1.2M tokens, SFT, 420 GRPO steps (32 questions x 8 samples drawn, 16
          groups with reward spread in the update), and 500 held-out problems, greedy + 8
          samples per problem per checkpoint.
  smoke   every stage at toy sizes, in a couple of minutes (tests); `tiny` is the same.
"""

import importlib.util
from pathlib import Path

import ml_collections

from deepseekmath_jax import config_lib


def _grpo_trainer_defaults() -> ml_collections.ConfigDict:
  """configs/grpo.py:tiny, loaded by path as main.py loads configs."""
  spec = importlib.util.spec_from_file_location("pipeline_grpo_defaults",
                                                Path(__file__).with_name("grpo.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config("tiny")

# Per variant: the knobs that differ between demo and smoke.
_SIZES = {
    "demo": dict(math_docs=2400, drill_docs=0, prose_docs=400, negative_docs=400,
                 eval_problems=500, sft_examples=3000, rl_questions=3000, layers=4, dim=128,
                 heads=4, mlp=384, vocab=1024, pretrain_steps=600, pretrain_batch=8,
                 sft_steps=40, sft_batch=16, grpo_steps=420, grpo_questions=16,
                 grpo_sampled=32, group=8,
                 eval_samples=8, eval_batch=128, corpus_workers=2, recall_iterations=2,
                 classifier_epochs=10, solve_problems=8),
    "smoke": dict(math_docs=120, drill_docs=10, prose_docs=40, negative_docs=60,
                  eval_problems=24, sft_examples=64, rl_questions=64, layers=1, dim=32,
                  heads=2, mlp=64, vocab=384, pretrain_steps=4, pretrain_batch=4,
                  sft_steps=3, sft_batch=4, grpo_steps=2, grpo_questions=2, grpo_sampled=4,
                  group=4,
                  eval_samples=4, eval_batch=32, corpus_workers=1, recall_iterations=1,
                  classifier_epochs=30, solve_problems=4),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="demo", tiny=False)
  variant = "smoke" if a.tiny or a.variant == "tiny" else a.variant
  if variant not in _SIZES:
    raise ValueError(f"configs/pipeline.py: unknown variant {variant!r}; known: "
                     f"{sorted(_SIZES)} (and tiny = smoke)")
  s = _SIZES[variant]
  c = ml_collections.ConfigDict()
  c.stage = "pipeline"                 # deepseekmath_jax/pipeline.py
  c.seed = 0                           # the one seed: data streams, init, data order, sampling
  c.variant = variant                  # for the report
  c.stop_after = ""                    # '' = every stage; else the last stage to run
  c.reuse_from = ""                    # a finished run's workdir whose reuse_stages are linked
  c.reuse_stages = ("data", "corpus", "tokenizer", "pretrain", "sft", "eval_pretrain",
                    "eval_sft")        # stages taken from reuse_from (experiments share them)

  c.data = ml_collections.ConfigDict(dict(
      min_steps=1,                     # fewest arithmetic steps per solution
      max_steps=2,                     # most arithmetic steps per solution
      max_number=20,                   # largest starting count / total in a question
      max_factor=6,                    # largest multiplier, price, rate or divisor
      math_docs=s["math_docs"],        # math documents in the pool
      problems_per_doc_min=2,          # problems per math document, fewest
      problems_per_doc_max=5,          # problems per math document, most
      drill_docs=s["drill_docs"],      # arithmetic drill sheets (steps of other problems)
      drill_problems_per_doc=20,       # problems whose steps make one drill sheet
      prose_docs=s["prose_docs"],      # stdlib-docstring documents in the pool
      negative_docs=s["negative_docs"],  # other stdlib prose: the classifier's negatives
      prose_min_chars=400,             # docstrings of a module joined up to this length
      exact_duplicates=max(2, s["math_docs"] // 40),   # planted exact copies
      near_duplicates=max(2, s["math_docs"] // 40),    # planted near-copies (header added)
      contaminated_docs=max(2, s["math_docs"] // 100),  # planted docs holding an eval question
      seed_docs=max(60, s["math_docs"] // 8),  # classifier positives (3 problems each)
      eval_problems=s["eval_problems"],  # held-out evaluation problems
      sft_examples=s["sft_examples"],  # SFT chat pairs
      rl_questions=s["rl_questions"],  # GRPO questions
      # §2.1 matches 10-grams. Templated problems share 10-word phrases ("and shares the rest
      # equally among 2 friends how many"): 45% of generated questions would match some
      # held-out question. At 20 words a window spans a question's numbers and names, and
      # about 1% match (same numbers, another vehicle or animal: real near-copies).
      decontam_ngram=20,               # exact n-gram match against held-out questions
  ))

  c.corpus = ml_collections.ConfigDict(dict(
      num_workers=s["corpus_workers"],  # extraction processes
      num_shards=2,                    # output array_record shards
      recall_iterations=s["recall_iterations"],  # §2.1 uses 4; the pool here is one site
      classifier_dim=64,               # fastText-style vector size (§2.1: 256)
      # Passes over the seed: the smoke pool's 60 seed documents need 30 to separate (at 10
      # every page scores about 0.47 and the fixed 0.5 threshold keeps almost nothing).
      classifier_epochs=s["classifier_epochs"],
      # Random pool pages as negatives (the paper's CC pages are nearly all non-math; this pool
      # is mostly math), so few: the known negatives (data/negatives.jsonl) carry the class.
      negatives_per_positive=0.1,      # pool pages drawn as negatives per seed positive
  ))

  c.model = config_lib.model_config(
      "tiny", vocab_size=s["vocab"], num_layers=s["layers"], embed_dim=s["dim"],
      num_heads=s["heads"], num_kv_heads=s["heads"], head_dim=s["dim"] // s["heads"],
      mlp_dim=s["mlp"], max_seq_len=256)
  c.tokenizer = ml_collections.ConfigDict(dict(
      vocab_size=s["vocab"],           # SentencePiece BPE pieces (digits split, byte fallback)
      train_num_docs=4000,             # corpus documents read to train it
  ))

  c.pretrain = ml_collections.ConfigDict(dict(
      steps=s["pretrain_steps"],       # optimizer steps
      batch_size=s["pretrain_batch"],  # packed sequences per step
      seq_len=256,                     # tokens per packed sequence
      peak_lr=3e-3,                    # AdamW peak (multistep schedule, §2.2.1)
      warmup_steps=max(1, s["pretrain_steps"] // 20),  # linear warmup
      eval_every=max(1, s["pretrain_steps"] // 5),  # steps between held-out loss evals
  ))
  c.sft = ml_collections.ConfigDict(dict(
      steps=s["sft_steps"],            # optimizer steps
      batch_size=s["sft_batch"],       # packed sequences per step
      seq_len=256,                     # tokens per packed sequence
      peak_lr=1e-3,                    # constant rate (§3.2 uses a constant 5e-5 at 7B)
  ))
  # GRPO: the run shape here; the method is configs/grpo.py's own `grpo`, `rollout`, `reward`
  # and `reward_model` sections (every option the trainer has, e.g. --config.grpo.loss.beta=0,
  # --config.grpo.loss.objective=rft), with the demo's choices on top.
  rl = _grpo_trainer_defaults()
  c.grpo = ml_collections.ConfigDict(dict(
      steps=s["grpo_steps"],           # RL steps (one sampling stage + μ updates each)
      questions_per_step=s["grpo_questions"],  # B groups in each update
      group_size=s["group"],           # G samples per question (§4.2: 64)
      num_iterations=1,                # Alg. 1 outer iterations (π_ref ← π_θ at each start)
      peak_lr=2e-4,                    # peak rate (§4.2: a constant 1e-6 at 7B)
      lr_schedule="constant",          # constant (§4.2) | cosine | multistep (trainers/optim.py)
      loss=rl.grpo,                    # configs/grpo.py `grpo`: ε, β, μ, objective, ...
      rollout=rl.rollout,              # configs/grpo.py `rollout`: T, temperature, policy
      reward=rl.reward,                # configs/grpo.py `reward`: weights of reward terms
      reward_model=rl.reward_model,    # configs/grpo.py `reward_model` (process supervision)
  ))
  # Each step draws G completions for `grpo_sampled` questions and updates on B of the groups
  # whose rewards differ (dynamic sampling as DAPO filters, arXiv:2503.14476, without a second
  # round). A group whose answers are all right or all wrong has zero advantage, so its only
  # term in Eq. 3 is the KL; about half the groups are such, and leaving them out halves the
  # log-prob and update work: 1.6 s a step instead of 2.8 s, so 420 steps fit where 280 did.
  # Measured from two seeds' SFT checkpoints (README, main-job section): +14.0 and +12.8 greedy
  # points against +13.0 and +6.6 for 280 full-batch steps of 32 questions.
  c.grpo.loss.dynamic_sampling = True
  c.grpo.loss.questions_per_round = s["grpo_sampled"]
  c.grpo.loss.max_sampling_rounds = 1
  # β stays §4.2's 0.04 (configs/grpo.py): over 200 full-batch steps it beat 0.2 by 3.2
  # points (0.2 holds the policy near the SFT model; experiments/grpo_kl_horizon.py).
  c.grpo.rollout.max_new_tokens = 56   # completion budget (solutions are at most ~50 tokens)
  c.grpo.rollout.temperature = 0.7     # rollout temperature (the loss uses the same one)
  c.eval = ml_collections.ConfigDict(dict(
      num_problems=s["eval_problems"],  # held-out problems per checkpoint (all of eval.jsonl)
      num_samples=s["eval_samples"],   # samples per problem for maj@k / pass@k
      temperature=0.7,                 # sampling temperature of those samples (Fig. 7: 0.7)
      max_new_tokens=64,               # completion budget, the same for every checkpoint
      max_prompt_len=80,               # prompt tokens (longer ones keep their end; GRPO too):
                                       # demo prompts are at most 75

      batch_size=s["eval_batch"],      # prompts per sampler call
  ))
  # `solve` (deepseekmath_jax/solve) on the first held-out problems with the GRPO checkpoint:
  # the eval section's decoding, configs/solve.py's routing and escalation rules.
  c.solve = ml_collections.ConfigDict(dict(
      num_problems=s["solve_problems"],  # held-out problems answered one by one
      k=s["eval_samples"],             # samples per problem (the fast band's at most 4)
  ))
  return c
