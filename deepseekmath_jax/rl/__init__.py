"""Reinforcement learning for DeepSeekMath (arXiv:2402.03300 §4): GRPO math, sampler, rewards.

Submodules are imported explicitly (`from deepseekmath_jax.rl import grpo_lib`) so that importing
this package stays cheap.
"""
