"""Tests for deepseekmath_jax.data.tokenizer: SentencePiece training, HF tokenizer.json, chat."""

import json
import os
import pickle

import ml_collections
import pytest
import tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from deepseekmath_jax.data import tokenizer as tok_lib

CORPUS = [
    "The sum of 12 and 345 is 357.\nHello world, x^2 + y^2 = z^2.",
    "def double(x):\n    return x * 2  # twice",
    "Solve for $x$: 3x + 7 = 22, so x = 5. The answer is \\boxed{5}.",
    "Natalia sold 48/2 = 24 clips in May. #### 72",
] * 40

ODD_TEXTS = ["", "  two  spaces\n\nand\ttabs ", "1234567890", "é ü 数学 ∫ x dx 🙂",
             "<｜begin▁of▁sentence｜> is plain text here"]


@pytest.fixture(scope="module")
def sp_tokenizer(tmp_path_factory):
  prefix = str(tmp_path_factory.mktemp("sp") / "tok")
  return tok_lib.train_sentencepiece(CORPUS, prefix, vocab_size=400,
                                     user_defined_symbols=["<tool>"])


def test_sentencepiece_round_trip_and_special_ids(sp_tokenizer):
  assert isinstance(sp_tokenizer, tok_lib.Tokenizer)
  assert (sp_tokenizer.bos_id, sp_tokenizer.eos_id, sp_tokenizer.pad_id) == (1, 2, 3)
  assert sp_tokenizer.vocab_size == 400
  for text in CORPUS[:4] + ODD_TEXTS[:-1]:
    # Identity normalizer, no dummy prefix and byte fallback: text round-trips...
    assert sp_tokenizer.decode(sp_tokenizer.encode(text)) == text
  # ...except U+2581, SentencePiece's own whitespace marker, which decodes as a space.
  assert sp_tokenizer.decode(sp_tokenizer.encode("a\u2581b")) == "a b"
  ids = sp_tokenizer.encode("x = 5", add_bos=True, add_eos=True)
  assert ids[0] == sp_tokenizer.bos_id and ids[-1] == sp_tokenizer.eos_id
  assert sp_tokenizer.decode(ids) == "x = 5"


def test_sentencepiece_splits_digits_and_keeps_user_symbols(sp_tokenizer):
  pieces = [sp_tokenizer.id_to_piece(i) for i in sp_tokenizer.encode("x 12345")]
  digit_pieces = [p for p in pieces if any(c.isdigit() for c in p)]
  assert digit_pieces == ["1", "2", "3", "4", "5"]
  tool = sp_tokenizer.encode("a<tool>b")
  assert "<tool>" in [sp_tokenizer.id_to_piece(i) for i in tool]


def test_sentencepiece_save_load_and_pickle(sp_tokenizer):
  loaded = tok_lib.SentencePieceTokenizer.load(sp_tokenizer.path)
  copied = pickle.loads(pickle.dumps(sp_tokenizer))
  for text in CORPUS[:4]:
    assert loaded.encode(text) == sp_tokenizer.encode(text) == copied.encode(text)
  with pytest.raises(FileNotFoundError, match="nope.model"):
    tok_lib.SentencePieceTokenizer.load("/nonexistent/nope.model")


def test_sentencepiece_vocab_too_large_is_lowered_or_refused():
  small = ["abc abd 12"] * 5
  lowered = tok_lib.train_sentencepiece(small, None, vocab_size=5000)
  assert 256 < lowered.vocab_size < 5000
  assert lowered.decode(lowered.encode("abd 12")) == "abd 12"
  with pytest.raises(ValueError, match=r"supports at most \d+ pieces, vocab_size=5000"):
    tok_lib.train_sentencepiece(small, None, vocab_size=5000, allow_smaller_vocab=False)
  with pytest.raises(ValueError, match="vocab_size=100 is below"):
    tok_lib.train_sentencepiece(small, None, vocab_size=100)


def test_sentencepiece_training_is_deterministic():
  a = tok_lib.train_sentencepiece(CORPUS, None, vocab_size=200, byte_fallback=False)
  b = tok_lib.train_sentencepiece(CORPUS, None, vocab_size=200, byte_fallback=False)
  assert a.vocab_size == b.vocab_size > 100
  assert [a.id_to_piece(i) for i in range(a.vocab_size)] == [b.id_to_piece(i) for i in range(b.vocab_size)]


# --- Hugging Face tokenizer.json -------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
  """A small byte-level BPE tokenizer.json with DeepSeek's special tokens and digit splitting."""
  directory = tmp_path_factory.mktemp("hf")
  tok = tokenizers.Tokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.Sequence([
      pre_tokenizers.Digits(individual_digits=True),
      pre_tokenizers.ByteLevel(add_prefix_space=False)])
  tok.decoder = decoders.ByteLevel()
  trainer = trainers.BpeTrainer(
      vocab_size=400, special_tokens=[tok_lib.DEEPSEEK_BOS, tok_lib.DEEPSEEK_EOS],
      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
  tok.train_from_iterator(CORPUS, trainer=trainer)
  tok.save(str(directory / "tokenizer.json"))
  (directory / "tokenizer_config.json").write_text(json.dumps({
      "bos_token": {"content": tok_lib.DEEPSEEK_BOS, "lstrip": False},
      "eos_token": {"content": tok_lib.DEEPSEEK_EOS, "lstrip": False},
      "pad_token": None, "add_bos_token": True}), encoding="utf-8")
  return str(directory)


def test_hf_tokenizer_ids_round_trip_and_transformers_parity(hf_dir):
  from transformers import PreTrainedTokenizerFast  # pylint: disable=g-import-not-at-top
  ours = tok_lib.HFTokenizer.from_directory(hf_dir)
  theirs = PreTrainedTokenizerFast(tokenizer_file=os.path.join(hf_dir, "tokenizer.json"))
  assert ours.bos_id == theirs.convert_tokens_to_ids(tok_lib.DEEPSEEK_BOS) == 0
  assert ours.eos_id == theirs.convert_tokens_to_ids(tok_lib.DEEPSEEK_EOS) == 1
  assert ours.pad_id == ours.eos_id  # DeepSeekMath has no pad token.
  assert ours.vocab_size == len(theirs)
  for text in CORPUS[:4] + ODD_TEXTS:
    ids = ours.encode(text)
    assert ids == theirs.encode(text, add_special_tokens=False)
    assert ours.decode(ids) == theirs.decode(ids) == text
  digits = [ours.id_to_piece(i) for i in ours.encode("2024")]
  assert digits == ["2", "0", "2", "4"]
  # A special token written in the text is the special token, as in transformers.
  ids = ours.encode(f"{tok_lib.DEEPSEEK_BOS}hi")
  assert ids[0] == ours.bos_id and ids == theirs.encode(f"{tok_lib.DEEPSEEK_BOS}hi",
                                                        add_special_tokens=False)
  assert ours.decode(ids, skip_special_tokens=True) == "hi"


def test_hf_tokenizer_errors_and_pickle(hf_dir, tmp_path):
  path = os.path.join(hf_dir, "tokenizer.json")
  with pytest.raises(ValueError, match="bos token '<s>' is not in the vocabulary"):
    tok_lib.HFTokenizer(path, bos_token="<s>")
  with pytest.raises(FileNotFoundError, match="tokenizer.json"):
    tok_lib.HFTokenizer.from_directory(str(tmp_path))
  ours = tok_lib.HFTokenizer(path)  # Without a config: DeepSeek's names are the default.
  assert pickle.loads(pickle.dumps(ours)).encode("x = 12") == ours.encode("x = 12")
  with pytest.raises(IndexError, match="outside the vocabulary"):
    ours.id_to_piece(10**6)


# --- chat format -------------------------------------------------------------------------------


def test_chat_prompt_and_encode_chat(hf_dir):
  tok = tok_lib.HFTokenizer.from_directory(hf_dir)
  assert tok_lib.chat_prompt("What is 2+3?") == "User: What is 2+3?\n\nAssistant:"
  prompt_ids, response_ids = tok_lib.encode_chat(tok, "What is 2+3?", "5")
  assert prompt_ids[0] == tok.bos_id and tok.bos_id not in prompt_ids[1:]
  assert tok.decode(prompt_ids[1:]) == "User: What is 2+3?\n\nAssistant:"
  assert response_ids[-1] == tok.eos_id and tok.decode(response_ids[:-1]) == " 5"
  assert tok_lib.encode_chat(tok, "q")[1] == []


def test_encode_messages_matches_the_jinja_template(hf_dir):
  tok = tok_lib.HFTokenizer.from_directory(hf_dir)
  messages = [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"},
              {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
  ids, is_response = tok_lib.encode_messages(tok, messages)
  assert len(ids) == len(is_response) and ids[0] == tok.bos_id
  # The chat_template: bos, 'User: ' + c + '\n\n', 'Assistant: ' + c + eos.
  bos, eos = tok_lib.DEEPSEEK_BOS, tok_lib.DEEPSEEK_EOS
  assert tok.decode(ids) == f"{bos}User: 1+1?\n\nAssistant: 2{eos}User: 2+2?\n\nAssistant: 4{eos}"
  assert tok.decode([i for i, r in zip(ids, is_response) if r]) == f" 2{eos} 4{eos}"
  with pytest.raises(ValueError, match="unknown role 'tool'"):
    tok_lib.encode_messages(tok, [{"role": "tool", "content": "x"}])


def test_build_tokenizer_kinds(sp_tokenizer, hf_dir, tmp_path):
  cfg = tok_lib.default_tokenizer_config()
  cfg.kind, cfg.path = "sentencepiece", sp_tokenizer.path
  assert tok_lib.build_tokenizer(cfg).encode("x = 1") == sp_tokenizer.encode("x = 1")
  cfg.kind, cfg.path = "hf_json", hf_dir
  assert isinstance(tok_lib.build_tokenizer(cfg), tok_lib.HFTokenizer)
  cfg.kind, cfg.path = "hf_json", os.path.join(hf_dir, "tokenizer.json")
  assert isinstance(tok_lib.build_tokenizer(cfg), tok_lib.HFTokenizer)
  cfg.kind = "wordpiece"
  with pytest.raises(ValueError, match="unknown tokenizer.kind 'wordpiece'"):
    tok_lib.build_tokenizer(cfg)


def test_build_tokenizer_trains_on_the_data_source_once(tmp_path):
  from deepseekmath_jax.data import pipeline  # pylint: disable=g-import-not-at-top
  cfg = tok_lib.default_tokenizer_config()
  data_cfg = pipeline.default_data_config()
  first = tok_lib.build_tokenizer(cfg, data_cfg, workdir=str(tmp_path))
  assert os.path.exists(tmp_path / "tokenizer.model") and first.vocab_size == 256
  again = tok_lib.build_tokenizer(cfg, ml_collections.ConfigDict(), workdir=str(tmp_path))
  text = "Question: What is 37 + 48?\nAnswer: 85."
  assert again.encode(text) == first.encode(text)
  assert first.decode(first.encode(text)) == text
