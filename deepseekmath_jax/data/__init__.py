"""Tokenizers and grain input pipelines (see tokenizer.py and pipeline.py)."""

from deepseekmath_jax.data.packing import BATCH_KEYS
from deepseekmath_jax.data.packing import check_batch_contract
from deepseekmath_jax.data.pipeline import default_data_config
from deepseekmath_jax.data.pipeline import make_eval_batches
from deepseekmath_jax.data.pipeline import make_sft_iterator
from deepseekmath_jax.data.pipeline import make_train_iterator
from deepseekmath_jax.data.pipeline import paper_mixture_example
from deepseekmath_jax.data.sources import source_config
from deepseekmath_jax.data.tokenizer import build_tokenizer
from deepseekmath_jax.data.tokenizer import chat_prompt
from deepseekmath_jax.data.tokenizer import default_tokenizer_config
from deepseekmath_jax.data.tokenizer import encode_chat
from deepseekmath_jax.data.tokenizer import HFTokenizer
from deepseekmath_jax.data.tokenizer import SentencePieceTokenizer
from deepseekmath_jax.data.tokenizer import Tokenizer
from deepseekmath_jax.data.tokenizer import train_sentencepiece
