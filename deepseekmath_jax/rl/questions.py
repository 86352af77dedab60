"""Questions for reinforcement learning: sources, prompts, and a checkpointable iterator.

GRPO samples a batch of questions each step (Algorithm 1, arXiv:2402.03300) and needs, per
question, the prompt the policy continues and the reference answer the rule reward grades
against. The paper's RL prompts are the GSM8K and MATH chain-of-thought questions of its SFT
data (§4.2); here any `config_lib.source_config` source in SFT mode works:

  synthetic   generated arithmetic problems (`data/synthetic.py`) with `\\boxed{}` answers,
              for `tiny` runs that touch no files,
  jsonl       local files, e.g. ../shared/data/gsm8k/train.jsonl (`question`/`answer`, the
              reference is the `#### n` line) or math/math_train.jsonl (`problem`/`solution`,
              the reference is the last `\\boxed{}`); the verifier extracts either,
  tfds        any TFDS dataset with a question and an answer field.

The records come through a grain `MapDataset` (seeded shuffle, endless repeat) whose
`DatasetIterator` state goes into every checkpoint (`checkpoint.Checkpointer(data_iter=...)`),
so a resumed run draws exactly the questions an uninterrupted one would. The iterator yields
raw records; `QuestionEncoder` turns them into prompt token ids and applies the prompt-length
policy (truncate or drop, both counted), because the policy is a property of the run, not of
the data, and a dropped question must not end a batch early.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import grain
import ml_collections

from deepseekmath_jax.data import sources as sources_lib
from deepseekmath_jax.data import tokenizer as tokenizer_lib

LONG_PROMPT_POLICIES = ("truncate", "drop")


@dataclasses.dataclass(frozen=True)
class Question:
  """One RL question: the chat prompt's ids and the reference answer (any verifier form)."""
  question: str
  reference: str
  prompt_ids: tuple[int, ...]
  truncated: bool = False


class _Tagged:
  """Adds the source's name to each record, so the encoder knows its field names."""

  def __init__(self, source: Any, name: str):
    self.source, self.name = source, name

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> dict:
    record = self.source[index]
    return dict(record, _source=self.name) if isinstance(record, dict) else record


def make_question_iterator(sources_cfg: ml_collections.ConfigDict, *, seed: int,
                           shuffle: bool = True, process_index: int = 0,
                           process_count: int = 1) -> grain.DatasetIterator:
  """An endless iterator of raw question records with get_state()/set_state().

  Args:
    sources_cfg: name -> `config_lib.source_config` (kind synthetic | jsonl | tfds | memory)
      whose `prompt_field` / `response_field` name the question and the reference answer.
      Several sources are concatenated, then shuffled together.
    seed: the run's seed (shuffle order).
    shuffle: seeded shuffle of the records.
    process_index, process_count: this process's share of the records.
  """
  parts = []
  for name, cfg in sources_cfg.items():
    opened = sources_lib.open_source(cfg, "train", mode="sft", name=f"questions.sources.{name}")
    ds = grain.MapDataset.source(_Tagged(sources_lib.SkipBadRecords(opened), name))
    ds = ds[process_index::process_count]
    if len(ds) == 0:
      raise ValueError(f"config.questions.sources.{name} ({cfg.kind}, path={cfg.path!r}) has "
                       f"no records for process {process_index} of {process_count}")
    parts.append(ds)
  if not parts:
    raise ValueError("config.questions.sources is empty")
  ds = grain.MapDataset.concatenate(parts) if len(parts) > 1 else parts[0]
  if shuffle:
    ds = ds.shuffle(seed=seed % 2**32)
  return iter(ds.repeat(None).to_iter_dataset())


class QuestionEncoder:
  """Record -> `Question` (or None when skipped), counting every skip by reason.

  Prompts longer than `max_prompt_len` tokens are left-truncated (the end of the prompt, with
  `Assistant:`, is what the policy continues) or dropped, as `long_prompt` says.
  """

  def __init__(self, tokenizer: tokenizer_lib.Tokenizer,
               sources_cfg: ml_collections.ConfigDict, *, max_prompt_len: int,
               long_prompt: str = "truncate"):
    if long_prompt not in LONG_PROMPT_POLICIES:
      raise ValueError(f"config.questions.long_prompt={long_prompt!r} is not one of "
                       f"{LONG_PROMPT_POLICIES}")
    if max_prompt_len < 2:
      raise ValueError(f"config.questions.max_prompt_len must be >= 2, got {max_prompt_len}")
    self.tokenizer = tokenizer
    self.sources_cfg = sources_cfg
    self.max_prompt_len = max_prompt_len
    self.long_prompt = long_prompt
    self.counts = {"questions_read": 0, "prompts_truncated": 0, "prompts_dropped": 0,
                   "questions_bad_records": 0}

  def __call__(self, record: Any) -> Question | None:
    self.counts["questions_read"] += 1
    name = record.get("_source") if isinstance(record, dict) else None
    if name not in self.sources_cfg:
      name = next(iter(self.sources_cfg))
    try:
      doc = sources_lib.document_from_record(record, self.sources_cfg[name], "sft")
    except sources_lib.BadRecordError:
      self.counts["questions_bad_records"] += 1
      return None
    if "prompt" not in doc:
      self.counts["questions_bad_records"] += 1  # a messages-only record has no question
      return None
    prompt_ids, _ = tokenizer_lib.encode_chat(self.tokenizer, doc["prompt"])
    truncated = False
    if len(prompt_ids) > self.max_prompt_len:
      if self.long_prompt == "drop":
        self.counts["prompts_dropped"] += 1
        return None
      prompt_ids = prompt_ids[-self.max_prompt_len:]
      truncated = True
      self.counts["prompts_truncated"] += 1
    return Question(question=doc["prompt"], reference=doc["response"],
                    prompt_ids=tuple(int(t) for t in prompt_ids), truncated=truncated)


def next_questions(iterator: grain.DatasetIterator, encoder: QuestionEncoder, num: int, *,
                   max_reads: int | None = None) -> list[Question]:
  """The next `num` usable questions; raises if `max_reads` records yield fewer."""
  max_reads = max_reads or 100 * num + 1000
  out, reads = [], 0
  while len(out) < num:
    if reads >= max_reads:
      raise RuntimeError(f"read {reads} question records and only {len(out)} were usable "
                         f"(counts: {encoder.counts}); check config.questions")
    question = encoder(next(iterator))
    reads += 1
    if question is not None:
      out.append(question)
  return out
