"""Trainers: `pretrain.run` (continued pretraining and SFT), built on `train_lib` (loss,
jitted step, finite guard), `optim` (AdamW and schedules), `deepseekmath_jax.checkpoint` and
`deepseekmath_jax.metrics`."""
