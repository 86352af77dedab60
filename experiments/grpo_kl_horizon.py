"""Does the KL coefficient that wins a short GRPO run still win a long one?

  .venv/bin/python experiments/launch.py --experiment=experiments/grpo_kl_horizon.py

`grpo_kl_beta.py` compares β over 16 steps, where β = 0.2 came out ahead of §4.2's 0.04. The
demo's GRPO stage runs hundreds of steps. From one finished demo run's SFT checkpoint
(`reuse_from`; run `make demo` first), with the demo's rollouts (32 questions x 8 completions,
T 0.7, 56 tokens) and rate (2e-4), and the same evaluation: β 0.2 and 0.04 over 200 steps,
and β 0.04 over the demo's 280.
"""

BASE = "configs/pipeline.py:demo"
# Every sampled group in the update (the demo now filters them; grpo_filter.py).
COMMON = {"reuse_from": "runs/demo", "grpo.questions_per_step": 32,
          "grpo.loss.dynamic_sampling": False, "grpo.loss.questions_per_round": 0}


def get_sweep():
  return [
      {"_name": "beta0.2_200steps", "grpo.loss.beta": 0.2, "grpo.steps": 200},
      {"_name": "beta0.04_200steps", "grpo.loss.beta": 0.04, "grpo.steps": 200},
      {"_name": "beta0.04_280steps", "grpo.loss.beta": 0.04, "grpo.steps": 280},
  ]
