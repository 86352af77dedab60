"""Does more policy-gradient signal per step raise held-out accuracy at demo scale?

  .venv/bin/python experiments/launch.py --experiment=experiments/grpo_signal.py

From one finished demo run's SFT checkpoint (`reuse_from`; run `make demo` first), 150 GRPO
steps of 32 questions x 8 completions with the settings the demo had then (β 0.2, T 0.7, lr
2e-4), and the same evaluation, varying where the signal comes from:

  outcome      the demo's GRPO: the verifier's 0/1 reward on the final answer (§4.1.2).
  arithmetic   process supervision (§4.1.3) with a rule-based step reward: each written
               equation checked exactly (`verifier.steps`), 1 right / 0 wrong, and the
               outcome on the last step. Targets the SFT model's commonest error.
  dynamic      outcome reward with dynamic sampling: 56 questions sampled per step, groups
               whose 8 answers are all right or all wrong dropped, 32 groups in the update
               (about 88% informative instead of 55%).
"""

BASE = "configs/pipeline.py:demo"
# β 0.2 and every sampled group in the update: the demo's settings when these results were
# measured.
COMMON = {"reuse_from": "runs/demo", "grpo.steps": 150, "grpo.loss.beta": 0.2,
          "grpo.questions_per_step": 32, "grpo.loss.dynamic_sampling": False,
          "grpo.loss.questions_per_round": 0}
RESULTS = {
    "greedy": "evaluation.grpo.greedy_accuracy",
    "maj@8": "evaluation.grpo.maj_at_k",
    "pass@8": "evaluation.grpo.pass_at_k",
    "written equations right": "evaluation.grpo.greedy_arithmetic_accuracy",
    "KL (last step)": "training.grpo_kl_last",
}


def get_sweep():
  return [
      {"_name": "outcome"},
      {"_name": "arithmetic", "grpo.loss.supervision": "process",
       "grpo.reward.weights.arithmetic": 1.0},
      {"_name": "dynamic", "grpo.loss.dynamic_sampling": True,
       "grpo.loss.questions_per_round": 56, "grpo.loss.max_sampling_rounds": 1},
  ]
