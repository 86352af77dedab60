"""deepseekmath_jax: DeepSeekMath (arXiv:2402.03300) in JAX and Flax NNX."""

__version__ = "0.1.0"
