"""Is a GRPO step better spent on every sampled group, or on the groups with reward spread?

  .venv/bin/python experiments/launch.py --experiment=experiments/grpo_filter.py
  # another seed: a demo run with --config.seed=1 in runs/demo_seed1, then
  .venv/bin/python experiments/launch.py --experiment=experiments/grpo_filter.py \
      --root=runs/grpo_filter_seed1 --set=reuse_from=runs/demo_seed1,seed=1

Under the rule reward about half the groups of 8 completions are all right or all wrong: their
advantages are zero and only their KL term enters Eq. 3, yet they cost as much log-prob and
update work as the others. From one finished demo run's SFT checkpoint (`reuse_from`), the
same GRPO time (12–13 minutes on 2 cores) spent two ways, β 0.04, T 0.7, lr 2e-4:

  full       280 steps, 32 questions x 8 completions, every group in the update (2.8 s a step).
  filtered   420 steps, 32 questions x 8 completions drawn, the first 16 groups with reward
             spread in the update (dynamic sampling without a second round; 1.6 s a step).
             The mean over 16 groups weights each informative group twice as much as the
             mean over 32 groups did, so each update is about twice as large.
"""

BASE = "configs/pipeline.py:demo"
COMMON = {"reuse_from": "runs/demo"}


def get_sweep():
  return [
      {"_name": "full_280steps", "grpo.steps": 280, "grpo.questions_per_step": 32,
       "grpo.loss.dynamic_sampling": False, "grpo.loss.questions_per_round": 0},
      {"_name": "filtered_420steps", "grpo.steps": 420, "grpo.questions_per_step": 16,
       "grpo.loss.dynamic_sampling": True, "grpo.loss.questions_per_round": 32,
       "grpo.loss.max_sampling_rounds": 1},
  ]
