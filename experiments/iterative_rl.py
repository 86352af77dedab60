"""Iterative RL at demo scale (arXiv:2402.03300 §4.1.4, Algorithm 1, Fig. 6): one iteration vs two.

  .venv/bin/python experiments/launch.py --experiment=experiments/iterative_rl.py

With a neural outcome reward model as the reward (as in the paper), the same GRPO steps run
as one iteration, or as two: at the start of the second the reference model is reset to the
policy and the reward model is retrained on the policy's samples of the first, with 10%
replayed historical data. Both reuse one finished demo run's SFT (`reuse_from`; run
`make demo` first) and are evaluated identically.
"""

BASE = "configs/pipeline.py:demo"
COMMON = {
    "reuse_from": "runs/demo",
    "grpo.steps": 16,                  # 16 x 32 questions x 8 completions
    "grpo.loss.beta": 0.2,             # the demo's β when these results were measured
    "grpo.questions_per_step": 32,     # every sampled group in the update, as then
    "grpo.loss.dynamic_sampling": False,
    "grpo.loss.questions_per_round": 0,
    "grpo.rollout.temperature": 1.0,   # the rollouts these results were measured with
    "grpo.rollout.max_new_tokens": 64,
    "grpo.reward.weights.accuracy": 0.0,
    "grpo.reward.weights.outcome_rm": 1.0,
    "grpo.reward_model.bootstrap_questions": 64,
    "grpo.reward_model.train_steps": 200,
    "grpo.reward_model.batch_size": 32,
    "grpo.reward_model.max_examples_per_iteration": 4096,
}
RESULTS = {
    "greedy": "evaluation.grpo.greedy_accuracy",
    "maj@8": "evaluation.grpo.maj_at_k",
    "pass@8": "evaluation.grpo.pass_at_k",
    "SFT greedy": "evaluation.sft.greedy_accuracy",
}


def get_sweep():
  return [dict(_name="iterations_1", **{"grpo.num_iterations": 1}),
          dict(_name="iterations_2", **{"grpo.num_iterations": 2})]
