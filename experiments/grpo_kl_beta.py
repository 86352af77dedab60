"""KL coefficient sweep at demo scale (arXiv:2402.03300 Eq. 3-4; §4.2 uses β = 0.04).

  .venv/bin/python experiments/launch.py --experiment=experiments/grpo_kl_beta.py

GRPO with the rule reward from one finished demo run's SFT (`reuse_from`; run `make demo`
first), varying only β, the weight of the k3 KL to the reference policy. Same sampling budget
and evaluation for every run; `KL (last step)` is the estimator's mean on the final batch.
"""

BASE = "configs/pipeline.py:demo"
# 16 steps x 32 questions x 8 completions each (the demo's GRPO stage takes 280).
COMMON = {"reuse_from": "runs/demo", "grpo.steps": 16,
          # the rollouts these results were measured with (the demo now uses T 0.7, 56)
          "grpo.rollout.temperature": 1.0, "grpo.rollout.max_new_tokens": 64,
          # every sampled group in the update, as then (the demo now filters them)
          "grpo.questions_per_step": 32, "grpo.loss.dynamic_sampling": False,
          "grpo.loss.questions_per_round": 0}


def get_sweep():
  return [{"grpo.loss.beta": beta} for beta in (0.0, 0.04, 0.2)]
