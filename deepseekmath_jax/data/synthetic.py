"""Text the project generates itself, so that `tiny` configs run with no files at all.

Two kinds of documents, both deterministic functions of (seed, index), so the source is a
random-access grain data source of any length that costs nothing to build:

* arithmetic: short worked problems with the final answer in `\\boxed{}` (the format the
  verifier and the paper's CoT prompts use, arXiv:2402.03300 §4.3), e.g.
  `Question: What is 37 + 48?\\nAnswer: 37 + 48 = 85. The answer is \\boxed{85}.`
* prose: docstrings of a fixed list of standard-library functions, a little natural language
  and code to mix in (the paper mixes code and web text into math, §2.3).

`SyntheticSource(mode="sft")` returns `{"question", "answer"}` records instead, for the SFT
pipeline. Held-out data comes from the same generator with a different seed.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import random

# Modules whose public functions' docstrings make the prose documents. Fixed, sorted, stdlib.
_DOC_MODULES = ("bisect", "cmath", "colorsys", "fractions", "functools", "heapq", "itertools",
                "math", "operator", "statistics", "string", "textwrap")

_NAMES = ("Ada", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goro", "Hana")
_ITEMS = ("apples", "books", "coins", "marbles", "pencils", "stamps")


@functools.cache
def stdlib_docstrings(modules: tuple[str, ...] = _DOC_MODULES) -> tuple[str, ...]:
  """`module.name\n\ndocstring` of the public functions and classes of stdlib `modules`."""
  docs = []
  for module_name in modules:
    module = importlib.import_module(module_name)
    for name in sorted(dir(module)):
      if name.startswith("_"):
        continue
      obj = getattr(module, name)
      if not (inspect.isroutine(obj) or inspect.isclass(obj)):
        continue  # Constants would repeat their type's docstring (float, str...).
      doc = inspect.getdoc(obj)
      if doc and len(doc) > 40:
        docs.append(f"{module_name}.{name}\n\n{doc}")
  return tuple(docs)


def _problem(rng: random.Random) -> tuple[str, str]:
  """One (question, worked answer) pair."""
  kind = rng.randrange(4)
  a, b = rng.randrange(2, 100), rng.randrange(2, 100)
  if kind == 0:
    return f"What is {a} + {b}?", f"{a} + {b} = {a + b}. The answer is \\boxed{{{a + b}}}."
  if kind == 1:
    hi, lo = max(a, b), min(a, b)
    return f"What is {hi} - {lo}?", f"{hi} - {lo} = {hi - lo}. The answer is \\boxed{{{hi - lo}}}."
  if kind == 2:
    a, b = a % 13 + 2, b % 13 + 2
    return f"What is {a} \\times {b}?", (f"{a} \\times {b} = {a * b}. "
                                         f"The answer is \\boxed{{{a * b}}}.")
  name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
  return (f"{name} has {a} {item} and buys {b} more. How many {item} does {name} have now?",
          f"{name} has {a} + {b} = {a + b} {item}. The answer is \\boxed{{{a + b}}}.")


class SyntheticSource:
  """A random-access source of generated documents (`__len__`, `__getitem__`).

  Records are `{"text": str}` (mode `pretrain`) or `{"question": str, "answer": str}` (mode
  `sft`). About 1 in 4 pretrain documents is a docstring, the others are 1 to 6 problems.
  """

  def __init__(self, num_records: int = 10_000, *, seed: int = 0, mode: str = "pretrain"):
    if mode not in ("pretrain", "sft"):
      raise ValueError(f"SyntheticSource mode must be 'pretrain' or 'sft', got {mode!r}")
    if num_records <= 0:
      raise ValueError(f"SyntheticSource num_records must be positive, got {num_records}")
    self._num_records, self._seed, self._mode = num_records, seed, mode

  def __len__(self) -> int:
    return self._num_records

  def __getitem__(self, index: int) -> dict[str, str]:
    if not 0 <= index < self._num_records:
      raise IndexError(f"SyntheticSource index {index} out of range [0, {self._num_records})")
    rng = random.Random(self._seed * 1_000_003 + index)
    if self._mode == "sft":
      question, answer = _problem(rng)
      return {"question": question, "answer": answer}
    if rng.random() < 0.25:
      docs = stdlib_docstrings()
      return {"text": docs[rng.randrange(len(docs))]}
    pairs = [_problem(rng) for _ in range(rng.randint(1, 6))]
    return {"text": "\n\n".join(f"Question: {q}\nAnswer: {a}" for q, a in pairs)}

  def __repr__(self) -> str:
    return f"SyntheticSource(num_records={self._num_records}, seed={self._seed}, mode={self._mode})"
