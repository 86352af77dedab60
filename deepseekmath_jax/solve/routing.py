"""Which band a question goes to (`route`), how many samples it gets, and the safety rule.

configs/solve.py documents the thresholds, keyword lists and patterns; `route` returns the
rules that fired, so the output says why a question went where it did.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re

import ml_collections

from deepseekmath_jax.evaluation import prompts as prompts_lib

BANDS = ("fast", "slow", "tool")


@dataclasses.dataclass(frozen=True)
class Route:
  """A question's band and the rules that put it there (readable, for the output)."""
  band: str
  reasons: tuple[str, ...]


def tools_available(prompt_format: str = "tool") -> bool:
  """Whether tool-integrated generation and its prompt format are installed in this tree."""
  return (prompt_format in prompts_lib.FORMATS
          and importlib.util.find_spec("deepseekmath_jax.rl.tool_rollout") is not None
          and importlib.util.find_spec("deepseekmath_jax.tools") is not None)


def route(question: str, routing: ml_collections.ConfigDict, *,
          tools: bool | None = None) -> Route:
  """The band of a question: the first of these rules that fires (configs/solve.py `routing`).

  1. tool: a "compute exactly" cue (`tool_cues`) or an integer of `tool_min_digits` digits or
     more, when `routing.tools` is on and tool generation exists (`tools`, default
     `tools_available()`; `solve` passes whether its tool prompt format exists); with tools
     off such a question goes on to the next rules.
  2. slow: longer than `fast_max_chars`, or a math symbol (`symbols`), or a multi-step keyword
     (`slow_keywords`), or no number at all.
  3. fast: what is left, a short arithmetic question.
  """
  q = " ".join(question.split())
  tool_reasons = [f"tool cue {name!r}" for name, pattern in routing.tool_cues.items()
                  if re.search(pattern, q, re.IGNORECASE)]
  digits = max((len(m) for m in re.findall(r"\d+", re.sub(r"(?<=\d)[,_](?=\d{3})", "", q))),
               default=0)
  if digits >= routing.tool_min_digits:
    tool_reasons.append(f"{digits}-digit integer (>= {routing.tool_min_digits})")
  can_use_tools = routing.tools and (tools_available() if tools is None else tools)
  if tool_reasons and can_use_tools:
    return Route("tool", tuple(tool_reasons))
  slow_reasons = []
  if tool_reasons:
    slow_reasons.append("tool cue, but tools are off: " + "; ".join(tool_reasons))
  if len(q) > routing.fast_max_chars:
    slow_reasons.append(f"{len(q)} characters > {routing.fast_max_chars}")
  symbol = re.search(routing.symbols, q)
  if symbol:
    slow_reasons.append(f"math symbol {symbol.group(0)!r}")
  keywords = [k for k in routing.slow_keywords
              if re.search(r"\b" + re.escape(k), q, re.IGNORECASE)]
  if keywords:
    slow_reasons.append("multi-step keyword " + ", ".join(repr(k) for k in keywords))
  if not re.search(r"\d", q):
    slow_reasons.append("no number in the question")
  if slow_reasons:
    return Route("slow", tuple(slow_reasons))
  return Route("fast", (f"{len(q)} characters <= {routing.fast_max_chars}, numbers, no math "
                        "symbol or multi-step keyword",))


def safety_categories(question: str, safety: ml_collections.ConfigDict) -> list[str]:
  """The safety-critical categories (configs/solve.py `safety`) whose pattern the question hits."""
  return [name for name, pattern in safety.items()
          if re.search(pattern, question, re.IGNORECASE)]


def num_samples(band: str, k: int, routing: ml_collections.ConfigDict) -> int:
  """Samples drawn for a band: k, or at most `fast_max_samples` for the fast band."""
  if k < 1:
    raise ValueError(f"k must be >= 1, got {k}")
  return max(1, min(k, routing.fast_max_samples)) if band == "fast" else k


