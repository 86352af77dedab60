r"""GRPO reinforcement learning (arXiv:2402.03300 §4, Algorithm 1).

  python -m deepseekmath_jax.main --config=configs/grpo.py:tiny --workdir=/tmp/grpo_tiny
  python -m deepseekmath_jax.main --config=configs/grpo.py:gsm8k --workdir=runs/grpo_gsm8k \
      --config.init_from=runs/sft_small
  python -m deepseekmath_jax.main --config=configs/grpo.py:deepseekmath_7b --workdir=runs/rl_7b \
      --config.init_from=/path/deepseek-math-7b-instruct

Variants:
  tiny              a random tiny model on generated arithmetic questions (no files), rule
                    reward; a few steps on CPU in seconds. A random model answers nothing, so
                    its rewards are ~0 and groups have zero spread; the pipeline still runs
                    end to end (sampling, verifier, update, metrics, checkpoints).
  tiny_toy          tiny with the `first_token` reward (1 when the completion's first token
                    id is in a range holding a quarter of the vocabulary): a task a random
                    model learns in a few dozen steps, to see the reward rise.
  gsm8k / math      questions from ../shared/data (gsm8k/train.jsonl question/answer;
                    math/math_train.jsonl problem/solution), the `small` model, to start from
                    an SFT run's workdir (`init_from`).
  deepseekmath_7b   the paper's settings (§4.2): lr 1e-6, β 0.04, G 64, max 1024 generated
                    tokens, μ 1, batch 1024, read as 1024 sampled outputs per step = 16
                    questions x 64 (the paper does not give the unit; 1024 questions would be
                    65,536 samples a step). Not given by the paper and chosen here: ε 0.2 (the
                    PPO default; with μ 1 and one minibatch the ratio is 1 and the clip is
                    inactive), temperature 1.0 and top_p 1.0 ("naive nucleus sampling",
                    §5.2.3), constant lr without warmup, 1 outer iteration (set
                    num_iterations=2 for the paper's two rounds of iterative RL, §5.2.1).
                    The paper's reward is a neural reward model; this variant uses the rule
                    reward unless `reward.weights.outcome_rm` is set. On v5e-256 (16 GiB a
                    chip) add `--config.grpo.grad_accum_steps=4`: the same update, its
                    gradient accumulated over 4 chunks of whole groups (README "Scale").

Tool-integrated rollouts (the paper's "Tool" setting, §4.4): `--config.grpo.tools.enabled=true`
runs the policy's ```python blocks in the sandbox (deepseekmath_jax/tools) and appends their
output blocks; those tokens are masked out of the loss (README "Tool-integrated reasoning").

Arguments: `tiny`, `tiny_toy`, `gsm8k`, `math`, `deepseekmath_7b`, plus `steps=N`.
"""

import ml_collections

from deepseekmath_jax import config_lib

_VARIANTS = ("tiny", "tiny_toy", "gsm8k", "math", "deepseekmath_7b")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="tiny", tiny=False, steps=0)
  variant = "tiny" if a.tiny else a.variant
  if variant not in _VARIANTS:
    raise ValueError(f"configs/grpo.py: unknown variant {variant!r}; known: {_VARIANTS}")
  tiny = variant.startswith("tiny")
  big = variant == "deepseekmath_7b"
  data_dir = "../shared/data"

  config = ml_collections.ConfigDict()
  config.stage = "grpo"                               # trainers/grpo.py
  config.seed = 0                                     # the one seed (init, questions, sampling)
  config.total_steps = a.steps or (6 if variant == "tiny" else 30 if tiny else 1000)  # RL steps
  config.checkpoint_every = 3 if tiny else 50         # steps between checkpoints
  config.num_iterations = 1                           # Alg. 1 outer iterations (π_ref reset)
  config.log_every = 1                                # steps between metrics records
  config.max_bad_steps = 5                            # consecutive non-finite steps allowed
  config.init_from = ""                               # '' | hf:PATH | HF dir | a run's workdir
  config.batch_size = 1024 if big else (16 if tiny else 256)  # completions per step (B x G)
  config.group_size = 64 if big else (4 if tiny else 16)      # G, completions per question

  model_variant = "tiny" if tiny else ("deepseekmath_7b" if big else "small")
  model_overrides = {} if tiny else dict(dtype="bfloat16", remat="block", scan_layers=True)
  config.model = config_lib.model_config(model_variant, **model_overrides)

  gsm8k = config_lib.source_config("jsonl", path=f"{data_dir}/gsm8k/train.jsonl",
                                    prompt_field="question", response_field="answer")
  math = config_lib.source_config("jsonl", path=f"{data_dir}/math/math_train.jsonl",
                                  prompt_field="problem", response_field="solution")
  if tiny:
    sources = dict(synthetic=config_lib.source_config("synthetic", num_records=2000))
    tokenizer = config_lib.tokenizer_config("train_sentencepiece_on_source", vocab_size=256,
                                            train_num_docs=300)
  elif variant in ("gsm8k", "math"):
    sources = {variant: gsm8k if variant == "gsm8k" else math}
    # The small model's vocabulary; use the SFT run's tokenizer via init_from (a workdir).
    tokenizer = config_lib.tokenizer_config("train_sentencepiece_on_source", vocab_size=4096)
  else:
    # §4.2: the GSM8K and MATH chain-of-thought questions of the SFT data (~144K; the public
    # train sets stand in for them here).
    sources = dict(gsm8k=gsm8k, math=math)
    tokenizer = config_lib.tokenizer_config("hf_json", path="tokenizers/deepseek-math-7b-base")
  config.tokenizer = tokenizer
  config.questions = ml_collections.ConfigDict(dict(
      sources=ml_collections.ConfigDict(sources),     # name -> source (questions + references)
      max_prompt_len=48 if tiny else 512,             # prompt tokens (P); longer ones: below
      long_prompt="truncate",                         # truncate (keep the end) | drop; counted
      shuffle=True,                                   # seeded shuffle of the questions
  ))
  config.rollout = ml_collections.ConfigDict(dict(
      max_new_tokens=16 if tiny else (1024 if big else 512),  # T (§4.2: max length 1024)
      temperature=1.0,                                # sampling temperature (not in the paper)
      top_p=1.0,                                      # nucleus mass (not in the paper)
      top_k=0,                                        # 0 = off
      stop_strings=(),                                # extra stop strings (EOS always stops)
      policy="current",                               # current | reference (offline RFT)
  ))
  config.grpo = ml_collections.ConfigDict(dict(
      epsilon=0.2,                                    # clip ε (not in the paper; PPO default)
      epsilon_high=0.0,                               # DAPO clip-higher ε_high (0 = ε)
      beta=0.04,                                      # KL coefficient β (§4.2)
      kl_estimator="k3",                              # k3 (Eq. 4) | k1 | k2
      aggregation="paper",                            # paper (Eq. 3) | token_mean | constant
      scale_rewards="group",                          # group (paper) | batch | none (Dr. GRPO)
      adv_eps=1e-4,                                   # added to the group std
      std_ddof=1,                                     # 1 sample std (TRL/verl), 0 population
      num_updates=1,                                  # μ, passes over each batch (§4.2: 1)
      num_minibatches=1,                              # optimizer updates per pass
      grad_accum_steps=1,                             # chunks of whole groups per update
                                                      # (memory only; same gradient)
      supervision="outcome",                          # outcome (§4.1.2) | process (§4.1.3)
      objective="grpo",                               # grpo (Eq. 3) | rft (§5.2.1, I(o))
      dynamic_sampling=False,                         # drop all-equal-reward groups, refill
      max_sampling_rounds=3,                          # sampling rounds per step (dyn. sampling)
      questions_per_round=0,                          # questions per round (dyn. sampling;
                                                      # 0 = the batch's B; more oversamples)
      mask_truncated=False,                           # overlong masking: truncated out of loss
      log_ratio_clamp=20.0,                           # |log ratio| clamp before exp
      track_kl=True,                                  # measure KL to π_ref even when β = 0
      logprob_chunk_size=0,                           # completion positions per chunk (0 = all)
      tools=ml_collections.ConfigDict(dict(           # tool-integrated rollouts (§4.4 "Tool")
          enabled=False,                              # run ```python blocks in the sandbox
          max_tool_calls=4,                           # programs per completion
          timeout_s=5.0,                              # wall-clock limit per program
          num_workers=2,                              # sandbox worker processes
          memory_mb=512,                              # address space per program (on top)
          output_limit=2048,                          # bytes of output kept per program
      )),
  ))
  weights = dict(accuracy=1.0, format=0.0, arithmetic=0.0, first_token=0.0, outcome_rm=0.0,
                 process_rm=0.0)
  if variant == "tiny_toy":
    weights.update(accuracy=0.0, first_token=1.0)
  config.reward = ml_collections.ConfigDict(dict(
      weights=ml_collections.ConfigDict(dict(
          accuracy=weights["accuracy"],               # verifier rule reward: 1 correct, 0 not
          format=weights["format"],                   # +bonus for a \boxed{} answer, -penalty
          arithmetic=weights["arithmetic"],           # exact checks of written arithmetic:
                                                      # per equation (process supervision),
                                                      # else 1 when all are right
          first_token=weights["first_token"],         # 1 if the first token is in the range
          outcome_rm=weights["outcome_rm"],           # neural outcome reward model P(correct)
          process_rm=weights["process_rm"],           # process reward model (per step)
      )),
      strict=False,                                   # verifier strict mode
      verifier_deadline_s=2.0,                        # per-item sympy deadline (verifier pool)
      deadline_s=60.0,                                # per-term wall-clock limit; past it: 0
      format_bonus=0.1,                               # format term for a committed answer
      format_penalty=0.1,                             # format term without one
      first_token_range=(3, 67),                      # [lo, hi) ids the first_token term wants
      arithmetic_correct=1.0,                         # step reward of a right equation
      arithmetic_wrong=0.0,                           # step reward of a wrong equation
  ))
  config.reward_model = ml_collections.ConfigDict(dict(
      init_from="",                                   # '' = the policy's init | hf: | workdir
      model=config_lib.model_config(model_variant, **model_overrides),  # RM backbone
      lr=2e-5 if big else 1e-3,                       # §4.2: the initial RM at 2e-5
      train_steps=20 if tiny else 500,                # RM optimizer steps per (re)training
      batch_size=16 if tiny else 64,                  # RM sequences per optimizer step
      bootstrap_questions=8 if tiny else 512,         # questions sampled for the initial RM
      retrain_each_iteration=True,                    # §4.1.4: continue training per iteration
      replay_fraction=0.1,                            # §4.1.4: 10% historical data
      max_examples_per_iteration=256 if tiny else 16384,  # new RM examples kept per iteration
      shepherd_rollouts=2 if tiny else 8,             # Math-Shepherd rollouts per step prefix
      shepherd_label="hard",                          # hard (any rollout right) | soft (mean)
      max_steps=16,                                   # steps per completion (last one absorbs)
      step_separator="\n",                            # regex between steps (Math-Shepherd: \n)
  ))
  peak_lr = 1e-6 if big else (1e-2 if variant == "tiny_toy" else 1e-3)  # §4.2: 1e-6 at 7B
  config.opt = config_lib.opt_config(schedule="constant", peak_lr=peak_lr, warmup_steps=0)
  config.opt.weight_decay = 0.0                       # no decay in RL (unspecified in the paper)
  if tiny:
    config.mesh = config_lib.mesh_config(data=-1)
  elif big:
    # The 16 questions of a step shard over fsdp (one per group: none padded, and B=16 must
    # divide the batch axes), tensor parallelism takes the other chips (2 on v5p-64, 8 on
    # v5p-256, 16 on v5e-256). README "Scale: AOT compile and memory plan".
    config.mesh = config_lib.mesh_config(data=1, fsdp=16, tensor=-1)
  else:
    config.mesh = config_lib.mesh_config(data=1, fsdp=-1)
  config.axis_rules = config_lib.AXIS_RULES           # logical axis -> mesh axes
  config.ckpt = ml_collections.ConfigDict(dict(
      max_to_keep=3,                                  # newest checkpoints kept
      async_save=not tiny,                            # write in a background thread
  ))
  config.debug = ml_collections.ConfigDict(dict(
      kill_at_step=0,                                 # test hook: SIGKILL self after step k
      sigterm_at_step=0,                              # test hook: SIGTERM self after step k
  ))
  return config
