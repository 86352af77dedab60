"""Unified paradigm at demo scale (arXiv:2402.03300 §5.2.1, Fig. 5): SFT, RFT, online RFT, GRPO.

  .venv/bin/python experiments/launch.py --experiment=experiments/unified_paradigm.py

The paper writes SFT, rejection-sampling fine-tuning (RFT), online RFT and GRPO as one
gradient, sum over tokens of GC(q, o, t) ∇log π_θ(o_t | q, o_<t), differing in the data
source and the gradient coefficient GC (Eq. 5-6, Table 10):

  SFT           the SFT checkpoint itself (the `sft` column of every run)
  RFT           samples from the frozen SFT policy, GC = I(o) (correct: 1, else 0)
  online RFT    samples from the current policy, GC = I(o)
  GRPO+OS       samples from the current policy, GC = Â (group-normalized outcome reward) + KL
  GRPO+PS       as GRPO+OS with a process reward model's per-step rewards (§4.1.3): Math-
                Shepherd labels from rollouts, one sentence = one step in these solutions

Every run reuses one finished demo run's data, pretraining, SFT and their evaluations
(`reuse_from`; run `make demo` first) and then spends the same sampling budget (16 steps x 32
questions x 8 completions) and the same evaluation. The paper's OS/PS runs use
neural reward models; GRPO+OS here uses the rule verifier, as the demo does.
"""

BASE = "configs/pipeline.py:demo"
# 16 steps x 32 questions x 8 completions each (the demo's GRPO stage takes 280).
COMMON = {"reuse_from": "runs/demo", "grpo.steps": 16, "grpo.loss.beta": 0.04,  # GRPO: §4.2's β
          # the rollouts these results were measured with (the demo now uses T 0.7, 56)
          "grpo.rollout.temperature": 1.0, "grpo.rollout.max_new_tokens": 64,
          # every sampled group in the update, as then (the demo now filters them)
          "grpo.questions_per_step": 32, "grpo.loss.dynamic_sampling": False,
          "grpo.loss.questions_per_round": 0}
RESULTS = {
    "greedy": "evaluation.grpo.greedy_accuracy",
    "maj@8": "evaluation.grpo.maj_at_k",
    "pass@8": "evaluation.grpo.pass_at_k",
    "SFT greedy": "evaluation.sft.greedy_accuracy",
    "RL reward (last step)": "training.grpo_reward_last",
}
_RFT = {"grpo.loss.objective": "rft", "grpo.loss.beta": 0.0}


def get_sweep():
  return [
      dict(_name="rft_offline", **_RFT, **{"grpo.rollout.policy": "reference"}),
      dict(_name="rft_online", **_RFT),
      dict(_name="grpo_outcome"),
      dict(_name="grpo_process", **{
          "grpo.loss.supervision": "process",
          "grpo.reward.weights.accuracy": 0.0,
          "grpo.reward.weights.process_rm": 1.0,
          "grpo.reward_model.step_separator": r"\.(?=\s)",
          "grpo.reward_model.bootstrap_questions": 64,
          "grpo.reward_model.shepherd_rollouts": 4,
          "grpo.reward_model.train_steps": 200,
          "grpo.reward_model.batch_size": 32,
          "grpo.reward_model.max_examples_per_iteration": 4096,
      }),
  ]
