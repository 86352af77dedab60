"""Does a larger GRPO learning rate buy the gain of more steps at demo scale?

  .venv/bin/python experiments/launch.py --experiment=experiments/grpo_rate.py

From one finished demo run's SFT checkpoint (`reuse_from`; run `make demo` first), 60 GRPO
steps of 32 questions x 8 completions with the demo's settings of the time (β 0.2), varying
only the (constant) Adam rate. The demo's 2e-4 gained about 0.06 points of held-out greedy
accuracy per step; if the gain were limited by the step size, a larger rate would reach it
in fewer steps.
"""

BASE = "configs/pipeline.py:demo"
# β 0.2 and every sampled group in the update: the demo's settings when these results were
# measured.
COMMON = {"reuse_from": "runs/demo", "grpo.steps": 60, "grpo.loss.beta": 0.2,
          "grpo.questions_per_step": 32, "grpo.loss.dynamic_sampling": False,
          "grpo.loss.questions_per_round": 0}


def get_sweep():
  return [{"grpo.peak_lr": lr} for lr in (2e-4, 4e-4, 8e-4)]
