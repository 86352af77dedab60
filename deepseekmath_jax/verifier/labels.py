"""Labelled answers: the name part of `PQ = 6`, `(a,b) = (4,1)`, `g(t) = t^2 + 1`.

A label is compared by its name without decorations (`|PQ|`, `\\overline{PQ}` and `PQ` are one
name). Two different names are two quantities (`y = 2` is not `x = 2`: `variable_mismatch`);
a function whose argument is renamed (`g(s)` for `g(t)`) is the same function, unless the
question uses both letters as its own symbols.
"""

from __future__ import annotations

import dataclasses
import re

from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier.normalize import Node


def label_key(node: Node) -> str:
  """The name of a label, without its decorations: `|PQ|`, `\\overline{PQ}` and `PQ` are `PQ`."""
  if node.kind in ("seq", "ratio"):
    return node.kind + ":" + ",".join(label_key(item) for item in node.items)
  text = re.sub(r"\\(?:overline|mathbf|mathrm|vec|left|right|lvert|rvert|vert)(?![a-zA-Z])", "",
                node.text)
  return re.sub(r"[|{} ]", "", text)


def rename(node: Node, old: str, new: str) -> Node:
  """The node with the variable `old` renamed to `new` (a function's argument)."""
  if node.kind == "scalar":
    pattern = re.compile(rf"(?<![\\a-zA-Z]){re.escape(old)}(?![a-zA-Z])")
    return dataclasses.replace(node, text=pattern.sub(new, node.text))
  return dataclasses.replace(node, items=tuple(rename(item, old, new) for item in node.items))


def compare_labels(pred_label: Node, ref_label: Node) -> tuple[str, tuple[str, str] | None]:
  """("same" | "renamed" | "different" | "compatible", rename) for two labels."""
  if label_key(pred_label) == label_key(ref_label):
    return "same", None
  pred_call, ref_call = normalize.function_call(pred_label), normalize.function_call(ref_label)
  if pred_call and ref_call:
    if pred_call[0] != ref_call[0] or len(pred_call[1]) != len(ref_call[1]):
      return "different", None
    if "," in pred_call[1]:
      return "different", None
    return "renamed", (pred_call[1], ref_call[1])
  if pred_call or ref_call:
    return "compatible", None  # `f(x) = ...` against `y = ...`.
  return "different", None


def distinct_in_question(pred_variable: str, ref_variable: str,
                         question_symbols: frozenset[str]) -> bool:
  """Whether the question uses both names as symbols: then they are two quantities, and
  renaming one into the other is wrong."""
  return {pred_variable, ref_variable} <= question_symbols


def in_question_order(parts: tuple[Node, ...], question_segments: tuple[str, ...]) -> list[Node] | None:
  """The values of labelled parts (`CD = 4, AB = 10`) in the order the question's math segments
  name them (`$AB$ ... $CD$`: 10, 4); None unless every part is `name = value` with a distinct
  name that the question mentions."""
  if not question_segments or not all(
      part.kind == "eq" and len(part.items) == 2 and normalize.is_label(part.items[0])
      for part in parts):
    return None
  positions: dict[str, int] = {}
  for index, segment in enumerate(question_segments):
    positions.setdefault(label_key(Node("scalar", text=segment)), index)
  names = [label_key(part.items[0]) for part in parts]
  if len(set(names)) != len(names) or not all(name in positions for name in names):
    return None
  ordered = sorted(zip(names, parts), key=lambda pair: positions[pair[0]])
  return [part.items[1] for _, part in ordered]


def grouped_values(parts: tuple[Node, ...],
                   tuple_names: tuple[str, ...] = ()) -> tuple[tuple[Node, ...], ...] | None:
  """`p=5, q=2; p=7, q=2` (also joined by "or"/"and"): the values of each group of labelled parts,
  as tuples in the order of the names (the question's `(p, q)` when it names them all, otherwise
  the first group's order). None unless every part is `name = value` and the same 2+ names repeat
  group after group, each once per group, in 2+ groups."""
  if len(parts) < 4 or not all(
      part.kind == "eq" and len(part.items) == 2 and normalize.is_label(part.items[0])
      for part in parts):
    return None
  names = [label_key(part.items[0]) for part in parts]
  distinct = list(dict.fromkeys(names))
  size = len(distinct)
  if size < 2 or len(names) % size or len(names) == size:
    return None
  order = list(tuple_names) if sorted(tuple_names) == sorted(distinct) else distinct
  groups = []
  for start in range(0, len(parts), size):
    group = dict(zip(names[start:start + size], parts[start:start + size]))
    if len(group) != size:
      return None
    groups.append(tuple(group[name].items[1] for name in order))
  return tuple(groups)
