"""Tokenizers: one interface, two backends, and DeepSeekMath's chat format.

* `SentencePieceTokenizer` wraps the `sentencepiece` library. `train_sentencepiece` trains a
  byte-fallback BPE model in-process (digits split one per token, as DeepSeek's tokenizer does,
  arXiv:2402.03300 §1.4 via DeepSeek-LLM §2.1), so a tiny run needs no downloaded tokenizer.
* `HFTokenizer` wraps a Hugging Face `tokenizer.json` through the `tokenizers` package; this is
  how the real DeepSeekMath tokenizer (byte-level BPE, 100015 tokens, BOS
  `<｜begin▁of▁sentence｜>` = 100000, EOS `<｜end▁of▁sentence｜>` = 100001, FULLWIDTH bars, no pad
  token so pad = EOS) is loaded. `HFTokenizer.from_directory` reads a local model directory
  (tokenizer.json + tokenizer_config.json), like `from_pretrained` without hub access.
* `chat_prompt` / `encode_chat` / `encode_messages` implement the chat template of
  deepseek-math-7b-instruct/rl: `{bos}User: {q}\\n\\nAssistant: {a}{eos}`; the generation prompt
  ends in `Assistant:` with no trailing space, so the answer begins with a space.
* `build_tokenizer(config)` builds any of them from the `config.tokenizer` ConfigDict
  (`default_tokenizer_config()` documents the keys).

Both backends encode without special tokens; BOS/EOS are added only on request, so the same ids
come out whichever backend is used and whatever its post-processor says.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from absl import logging
import ml_collections
import sentencepiece as spm
import tokenizers

# DeepSeek-LLM / DeepSeekMath special tokens (arXiv:2402.03300 §1.4). The bars are U+FF5C and
# the spaces U+2581.
DEEPSEEK_BOS = "<｜begin▁of▁sentence｜>"
DEEPSEEK_EOS = "<｜end▁of▁sentence｜>"


@runtime_checkable
class Tokenizer(Protocol):
  """What the pipelines, trainers, sampler and evaluation need from a tokenizer."""

  @property
  def bos_id(self) -> int: ...

  @property
  def eos_id(self) -> int: ...

  @property
  def pad_id(self) -> int: ...

  @property
  def vocab_size(self) -> int: ...

  def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]: ...

  def decode(self, ids: Sequence[int]) -> str: ...

  def id_to_piece(self, token_id: int) -> str: ...


def _with_specials(ids: list[int], bos: int, eos: int, add_bos: bool, add_eos: bool) -> list[int]:
  if add_bos:
    ids = [bos] + ids
  if add_eos:
    ids = ids + [eos]
  return ids


# ----------------------------------------------------------------------------------------------
# SentencePiece
# ----------------------------------------------------------------------------------------------


class SentencePieceTokenizer:
  """A SentencePiece model (`.model` file or serialized proto)."""

  def __init__(self, model_proto: bytes, *, path: str = "<in-memory>"):
    self._proto = model_proto
    self.path = path
    self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
    for name, value in (("bos", self._sp.bos_id()), ("eos", self._sp.eos_id())):
      if value < 0:
        raise ValueError(f"SentencePiece model {path} has no {name} piece; train it with "
                         f"{name}_id >= 0")

  @classmethod
  def load(cls, path: str) -> SentencePieceTokenizer:
    if not os.path.exists(path):
      raise FileNotFoundError(f"SentencePiece model not found: {path}")
    with open(path, "rb") as f:
      return cls(f.read(), path=path)

  def save(self, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
      f.write(self._proto)
    os.replace(tmp, path)  # Atomic: a concurrent reader never sees half a model.

  # Pickled by its proto so that grain worker processes get their own processor.
  def __getstate__(self):
    return {"proto": self._proto, "path": self.path}

  def __setstate__(self, state):
    self.__init__(state["proto"], path=state["path"])

  @property
  def bos_id(self) -> int:
    return self._sp.bos_id()

  @property
  def eos_id(self) -> int:
    return self._sp.eos_id()

  @property
  def pad_id(self) -> int:
    pad = self._sp.pad_id()
    return pad if pad >= 0 else self.eos_id

  @property
  def vocab_size(self) -> int:
    return self._sp.vocab_size()

  def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
    return _with_specials(self._sp.encode(text), self.bos_id, self.eos_id, add_bos, add_eos)

  def decode(self, ids: Sequence[int]) -> str:
    return self._sp.decode([int(i) for i in ids])

  def id_to_piece(self, token_id: int) -> str:
    return self._sp.id_to_piece(int(token_id))

  def __repr__(self) -> str:
    return f"SentencePieceTokenizer(path={self.path!r}, vocab_size={self.vocab_size})"


_TOO_LARGE = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")
_TOO_SMALL = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def train_sentencepiece(
    texts_or_path: Iterable[str] | str,
    model_prefix: str | None,
    vocab_size: int,
    *,
    user_defined_symbols: Sequence[str] = (),
    byte_fallback: bool = True,
    split_digits: bool = True,
    character_coverage: float = 0.9995,
    max_sentence_length: int = 1 << 16,
    allow_smaller_vocab: bool = True,
) -> SentencePieceTokenizer:
  """Trains a BPE SentencePiece model in-process and returns it (saved if `model_prefix`).

  Settings follow DeepSeek's tokenizer where SentencePiece can (arXiv:2402.03300 §1.4): BPE,
  numbers split into single digits, byte fallback so no text is ever `<unk>`. The normalizer is
  the identity and no dummy prefix is added, so `decode(encode(s)) == s` for any `s` without
  U+2581 (SentencePiece's whitespace marker, which BPE training requires and which decodes as a
  space; use the `tokenizers` backend where that character matters).
  Ids: 0 `<unk>`, 1 `<s>` (BOS), 2 `</s>` (EOS), 3 `<pad>`, then `user_defined_symbols`.

  Args:
    texts_or_path: documents (any iterable of str) or the path of a text file, one sentence per
      line (SentencePiece's own input format).
    model_prefix: writes `{model_prefix}.model` when given.
    vocab_size: wanted vocabulary size.
    user_defined_symbols: extra special tokens, never split (e.g. tool-call markers).
    byte_fallback: add the 256 byte pieces; then vocab_size must be above 256 + 4 + the number
      of distinct characters kept.
    split_digits: one token per digit.
    character_coverage: fraction of characters covered by character pieces.
    max_sentence_length: longer inputs are skipped by SentencePiece (bytes).
    allow_smaller_vocab: a corpus too small for `vocab_size` is a hard error in SentencePiece;
      when True we retrain with the largest size it supports and log a warning (the model's
      embedding table may be larger than the vocabulary); when False we raise a ValueError.

  Returns:
    The trained tokenizer.

  Raises:
    ValueError: vocab_size below what the characters (and bytes) need, or above what the corpus
      supports with `allow_smaller_vocab=False`.
  """
  if isinstance(texts_or_path, str):
    if not os.path.exists(texts_or_path):
      raise FileNotFoundError(f"tokenizer training corpus not found: {texts_or_path}")
    input_kwargs = dict(input=texts_or_path)
  else:
    texts = [t for t in texts_or_path if t]
    if not texts:
      raise ValueError("train_sentencepiece: the training corpus is empty")
    input_kwargs = dict(sentence_iterator=texts)

  def _train(size: int) -> bytes:
    kwargs = dict(input_kwargs)
    if "sentence_iterator" in kwargs:
      kwargs["sentence_iterator"] = iter(kwargs["sentence_iterator"])
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        **kwargs, model_writer=model, vocab_size=size, model_type="bpe",
        split_digits=split_digits, byte_fallback=byte_fallback,
        user_defined_symbols=list(user_defined_symbols),
        character_coverage=character_coverage, max_sentence_length=max_sentence_length,
        normalization_rule_name="identity", add_dummy_prefix=False,
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=3,
        # One thread: the same corpus gives the same model, so a resumed run re-trains the
        # identical tokenizer.
        num_threads=1, minloglevel=2)
    return model.getvalue()

  try:
    proto = _train(vocab_size)
  except RuntimeError as e:
    message = str(e)
    if (m := _TOO_SMALL.search(message)):
      raise ValueError(
          f"train_sentencepiece: vocab_size={vocab_size} is below the {m.group(2)} pieces this "
          f"corpus needs (characters + specials{' + 256 bytes' if byte_fallback else ''}); raise "
          "vocab_size, lower character_coverage or set byte_fallback=False") from e
    if (m := _TOO_LARGE.search(message)):
      supported = int(m.group(2))
      if not allow_smaller_vocab:
        raise ValueError(
            f"train_sentencepiece: the corpus supports at most {supported} pieces, "
            f"vocab_size={vocab_size} was asked; give more text or a smaller vocab_size") from e
      logging.warning("train_sentencepiece: the corpus supports at most %d pieces; training "
                      "with vocab_size=%d instead of %d", supported, supported, vocab_size)
      proto = _train(supported)
    else:
      raise
  tokenizer = SentencePieceTokenizer(proto, path=f"{model_prefix}.model" if model_prefix
                                     else "<in-memory>")
  if model_prefix:
    tokenizer.save(f"{model_prefix}.model")
  return tokenizer


# ----------------------------------------------------------------------------------------------
# Hugging Face tokenizer.json
# ----------------------------------------------------------------------------------------------


def _token_content(value) -> str | None:
  """tokenizer_config.json stores a token as a string or as an AddedToken dict."""
  if isinstance(value, dict):
    return value.get("content")
  return value


class HFTokenizer:
  """A Hugging Face `tokenizer.json` loaded with the `tokenizers` package."""

  def __init__(self, tokenizer_file: str, *, bos_token: str | None = None,
               eos_token: str | None = None, pad_token: str | None = None):
    if not os.path.exists(tokenizer_file):
      raise FileNotFoundError(f"tokenizer.json not found: {tokenizer_file}")
    self.path = tokenizer_file
    self._names = dict(bos=bos_token, eos=eos_token, pad=pad_token)
    self._tok = tokenizers.Tokenizer.from_file(tokenizer_file)
    self._bos = self._special_id("bos", bos_token, DEEPSEEK_BOS)
    self._eos = self._special_id("eos", eos_token, DEEPSEEK_EOS)
    # DeepSeekMath has no pad token; its README sets pad_token_id = eos_token_id.
    self._pad = self._special_id("pad", pad_token, None) if pad_token else self._eos

  def _special_id(self, role: str, name: str | None, default: str | None) -> int:
    name = name or default
    token_id = self._tok.token_to_id(name) if name else None
    if token_id is None:
      raise ValueError(f"{self.path}: {role} token {name!r} is not in the vocabulary; pass "
                       f"{role}_token= or set it in tokenizer_config.json")
    return token_id

  @classmethod
  def from_directory(cls, directory: str) -> HFTokenizer:
    """Loads `directory/tokenizer.json`, with special tokens from `tokenizer_config.json`."""
    config_path = os.path.join(directory, "tokenizer_config.json")
    names = {}
    if os.path.exists(config_path):
      with open(config_path, encoding="utf-8") as f:
        try:
          config = json.load(f)
        except json.JSONDecodeError as e:
          raise ValueError(f"{config_path}: invalid JSON: {e}") from e
      names = {k: _token_content(config.get(f"{k}_token")) for k in ("bos", "eos", "pad")}
    return cls(os.path.join(directory, "tokenizer.json"), bos_token=names.get("bos"),
               eos_token=names.get("eos"), pad_token=names.get("pad"))

  from_pretrained = from_directory  # The familiar name; local directories only (no hub).

  def __getstate__(self):
    return {"path": self.path, "names": self._names}

  def __setstate__(self, state):
    names = state["names"]
    self.__init__(state["path"], bos_token=names["bos"], eos_token=names["eos"],
                  pad_token=names["pad"])

  @property
  def bos_id(self) -> int:
    return self._bos

  @property
  def eos_id(self) -> int:
    return self._eos

  @property
  def pad_id(self) -> int:
    return self._pad

  @property
  def vocab_size(self) -> int:
    return self._tok.get_vocab_size(with_added_tokens=True)

  def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
    # add_special_tokens=False: the post-processor (which adds BOS for DeepSeek's
    # LlamaTokenizerFast) is bypassed so that BOS/EOS follow the flags only.
    ids = self._tok.encode(text, add_special_tokens=False).ids
    return _with_specials(ids, self._bos, self._eos, add_bos, add_eos)

  def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
    return self._tok.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

  def id_to_piece(self, token_id: int) -> str:
    piece = self._tok.id_to_token(int(token_id))
    if piece is None:
      raise IndexError(f"token id {token_id} is outside the vocabulary ({self.vocab_size})")
    return piece

  def __repr__(self) -> str:
    return f"HFTokenizer(path={self.path!r}, vocab_size={self.vocab_size})"


# ----------------------------------------------------------------------------------------------
# Chat format (deepseek-math-7b-instruct / -rl chat_template, arXiv:2402.03300 §1.4)
# ----------------------------------------------------------------------------------------------


def chat_prompt(question: str) -> str:
  """The generation prompt for one question, without BOS: `User: {q}\\n\\nAssistant:`."""
  return f"User: {question}\n\nAssistant:"


def encode_chat(tokenizer: Tokenizer, question: str,
                answer: str | None = None) -> tuple[list[int], list[int]]:
  """Encodes one exchange as (prompt_ids, response_ids).

  prompt_ids = BOS + `User: {q}\\n\\nAssistant:`; response_ids = ` {a}` + EOS (empty when
  `answer` is None). The two halves are tokenized separately, so the prompt tokens are exactly
  those the model sees at generation time.
  """
  prompt_ids = tokenizer.encode(chat_prompt(question), add_bos=True)
  if answer is None:
    return prompt_ids, []
  return prompt_ids, tokenizer.encode(f" {answer}", add_eos=True)


def encode_messages(tokenizer: Tokenizer,
                    messages: Sequence[dict]) -> tuple[list[int], list[int]]:
  """Encodes a multi-turn chat as (ids, is_response) following the Jinja chat_template.

  user → `User: {c}\\n\\n`, assistant → `Assistant: {c}` + EOS, system → `{c}\\n\\n`; BOS first.
  `is_response[i]` is 1 for the tokens of assistant contents and their EOS (the tokens trained
  on in SFT), 0 elsewhere. Assistant turns are split as `Assistant:` | ` {c}` + EOS, matching
  `encode_chat`.
  """
  ids, is_response = [tokenizer.bos_id], [0]
  for turn, message in enumerate(messages):
    if not isinstance(message, dict) or "role" not in message or "content" not in message:
      raise ValueError(f"chat message {turn} must be a dict with 'role' and 'content', "
                       f"got {message!r:.80}")
    role, content = message["role"], message["content"]
    if role == "user":
      part = tokenizer.encode(f"User: {content}\n\n")
      ids += part
      is_response += [0] * len(part)
    elif role == "system":
      part = tokenizer.encode(f"{content}\n\n")
      ids += part
      is_response += [0] * len(part)
    elif role == "assistant":
      head = tokenizer.encode("Assistant:")
      body = tokenizer.encode(f" {content}", add_eos=True)
      ids += head + body
      is_response += [0] * len(head) + [1] * len(body)
    else:
      raise ValueError(f"chat message {turn}: unknown role {role!r} (user|assistant|system)")
  return ids, is_response


# ----------------------------------------------------------------------------------------------
# From config
# ----------------------------------------------------------------------------------------------


def default_tokenizer_config() -> ml_collections.ConfigDict:
  """The `config.tokenizer` keys read by `build_tokenizer`."""
  return ml_collections.ConfigDict(dict(
      # sentencepiece: load `path` (.model). hf_json: `path` is a tokenizer.json file or a
      # directory with tokenizer.json + tokenizer_config.json (the real DeepSeekMath tokenizer).
      # train_sentencepiece_on_source: train on the first `train_num_docs` training documents
      # of `config.data`, save to `path` (default `{workdir}/tokenizer.model`), and load that
      # file when it exists (so a resumed run uses the same tokenizer).
      kind="train_sentencepiece_on_source",
      path="",
      vocab_size=256,            # train_sentencepiece_on_source only.
      byte_fallback=False,       # 256 byte pieces need vocab_size > ~300.
      train_num_docs=2000,       # documents read to train the tokenizer.
      user_defined_symbols=(),   # extra special tokens for trained models.
  ))


def build_tokenizer(tokenizer_config: ml_collections.ConfigDict,
                    data_config: ml_collections.ConfigDict | None = None,
                    workdir: str | None = None) -> Tokenizer:
  """Builds the tokenizer that `tokenizer_config` (see `default_tokenizer_config`) describes.

  `data_config` and `workdir` are needed only by `train_sentencepiece_on_source`.
  """
  kind, path = tokenizer_config.kind, tokenizer_config.get("path", "")
  if kind == "sentencepiece":
    return SentencePieceTokenizer.load(path)
  if kind == "hf_json":
    if os.path.isdir(path):
      return HFTokenizer.from_directory(path)
    return HFTokenizer(path)
  if kind == "train_sentencepiece_on_source":
    if not path:
      if not workdir:
        raise ValueError("tokenizer.kind=train_sentencepiece_on_source needs tokenizer.path or "
                         "a workdir to save the trained model in")
      path = os.path.join(workdir, "tokenizer.model")
    if os.path.exists(path):
      return SentencePieceTokenizer.load(path)
    if data_config is None:
      raise ValueError("tokenizer.kind=train_sentencepiece_on_source needs the data config")
    from deepseekmath_jax.data import pipeline  # pylint: disable=g-import-not-at-top
    texts = pipeline.sample_texts(data_config, tokenizer_config.train_num_docs)
    if not path.endswith(".model"):
      raise ValueError(f"tokenizer.path must end in .model, got {path!r}")
    return train_sentencepiece(
        texts, path[:-len(".model")], tokenizer_config.vocab_size,
        byte_fallback=tokenizer_config.byte_fallback,
        user_defined_symbols=tuple(tokenizer_config.user_defined_symbols))
  raise ValueError(f"unknown tokenizer.kind {kind!r}; known: sentencepiece, hf_json, "
                   "train_sentencepiece_on_source")
