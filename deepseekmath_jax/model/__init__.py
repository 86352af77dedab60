"""The NNX transformer (LLaMA family, DeepSeekMath-7B), its KV cache and HF interop."""

from deepseekmath_jax.model.kv_cache import KVCache
from deepseekmath_jax.model.transformer import Transformer, count_params

__all__ = ["KVCache", "Transformer", "count_params"]
