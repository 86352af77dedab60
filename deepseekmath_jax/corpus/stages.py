"""Per-document stage functions shared by the local runner (pipeline.py) and Beam.

`process_record` turns one raw record into either a dropped marker (reason) or a document
with everything the later, cross-document stages need: text, token count, dedup keys, MinHash
signature, classifier token hashes. It is pure (no shared state beyond its options), so it
runs in worker processes locally and in a Beam `Map` at scale.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from deepseekmath_jax.corpus import classifier as classifier_lib
from deepseekmath_jax.corpus import dedup
from deepseekmath_jax.corpus import html_to_text
from deepseekmath_jax.corpus import readers
from deepseekmath_jax.corpus import tokens

# Drop reasons, in pipeline order (report keys).
DROP_REASONS = ("malformed", "too_short", "duplicate_url", "duplicate_exact", "duplicate_near",
                "not_math", "contaminated")


@dataclasses.dataclass(frozen=True)
class ExtractOptions:
  min_chars: int = 200
  max_tokens: int = 2000          # classifier tokens kept per document
  math_features: bool = True      # classifier token classes (tokens.feature_tokens)
  num_perm: int = 128
  shingle_size: int = 5
  minhash_seed: int = 1
  sentencepiece_model: str = ""

  @classmethod
  def from_config(cls, config: Any) -> "ExtractOptions":
    return cls(min_chars=config.extract.min_chars, max_tokens=config.classifier.max_tokens,
               math_features=config.classifier.math_features,
               num_perm=config.dedup.num_perm, shingle_size=config.dedup.shingle_size,
               minhash_seed=config.seed + 1,
               sentencepiece_model=config.report.sentencepiece_model)


_COUNTERS: dict[str, tokens.TokenCounter] = {}


def _counter(model: str) -> tokens.TokenCounter:
  if model not in _COUNTERS:  # one sentencepiece load per process
    _COUNTERS[model] = tokens.TokenCounter(model or None)
  return _COUNTERS[model]


def process_record(raw: readers.RawRecord, opts: ExtractOptions) -> dict:
  """Extraction + per-document keys. Returns a doc dict; `dropped` is set if it is dropped."""
  base = dict(doc_id=raw.doc_id, source=raw.source, url=raw.url)
  if raw.error:
    return dict(base, dropped="malformed", detail=raw.error)
  if raw.html is not None:
    extraction = html_to_text.html_to_text(raw.html, url=raw.url, min_chars=opts.min_chars)
    text, extractor, formulas = extraction.text, extraction.extractor, extraction.formulas
  else:
    text, extractor, formulas = html_to_text.normalize_whitespace(raw.text or ""), "text", 0
  if len(text) < opts.min_chars:
    return dict(base, dropped="too_short", detail=f"{len(text)} chars")
  return dict(
      base, text=text, extractor=extractor, formulas=formulas,
      tokens=_counter(opts.sentencepiece_model)(text),
      norm_url=dedup.normalize_url(raw.url), domain=dedup.url_domain(raw.url),
      text_hash=dedup.text_hash(text),
      signature=dedup.minhash_signature(text, opts.num_perm, opts.shingle_size,
                                        opts.minhash_seed),
      hashes=classifier_lib.doc_hashes(text, opts.max_tokens, opts.math_features))


def process_batch(batch: list[readers.RawRecord], opts: ExtractOptions) -> list[dict]:
  return [process_record(raw, opts) for raw in batch]


def output_record(doc: dict, iteration: int, score: float) -> dict:
  """What a shard stores for one kept document (provenance included)."""
  return dict(text=doc["text"], url=doc.get("url") or "", source=doc["source"],
              doc_id=doc["doc_id"], domain=doc.get("domain", ""), iteration=int(iteration),
              score=round(float(score), 6), tokens=int(doc["tokens"]),
              extractor=doc.get("extractor", ""))
