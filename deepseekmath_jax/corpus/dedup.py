"""Deduplication keys: URL, exact text, and MinHash-LSH near-duplicates (arXiv:2402.03300 §2.1).

The paper deduplicates the Common Crawl pool by URL and by near-duplicate before recall. Here
each document gets *keys*; documents that share a key are grouped, and within a group the
first document (smallest `doc_id`, i.e. input order) is kept. The grouping is a dict in the
local runner and a `GroupByKey` in the Beam pipeline (beam_pipeline.py): the same functions
decide in both, so the two engines drop the same documents.

Near-duplicates: MinHash signatures of word 5-gram shingles (datasketch.MinHash), cut into
LSH bands (rows per band chosen by datasketch's false-positive/negative optimizer for the
threshold). Each band is a key; documents sharing any band are candidates, and a candidate is
dropped only if its estimated Jaccard similarity with an earlier member of the bucket is at
least the threshold (so band collisions of dissimilar pages do not drop anything).
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from typing import Iterable

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def normalize_url(url: str | None) -> str | None:
  """Lower-cased scheme and host, no default port, fragment or trailing slash; sorted query."""
  if not url:
    return None
  try:
    parts = urllib.parse.urlsplit(url.strip())
  except ValueError:
    return url.strip()
  host = (parts.hostname or "").lower()
  if host.startswith("www."):
    host = host[4:]
  port = parts.port if parts.port not in (None, 80, 443) else None
  netloc = host + (f":{port}" if port else "")
  path = parts.path.rstrip("/") or "/"
  query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parts.query, True)))
  return urllib.parse.urlunsplit(("", netloc, path, query, ""))


def url_domain(url: str | None) -> str:
  """Host without `www.` ('(no url)' when there is none)."""
  if not url:
    return "(no url)"
  try:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
  except ValueError:
    return "(bad url)"
  return host[4:] if host.startswith("www.") else (host or "(no host)")


def text_hash(text: str) -> str:
  """Hash of the text with case, punctuation and whitespace normalized (exact dedup key)."""
  norm = " ".join(_PUNCT.sub(" ", text.lower()).split())
  return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def shingles(text: str, size: int) -> list[bytes]:
  words = _PUNCT.sub(" ", text.lower()).split()
  if len(words) < size:
    return [" ".join(words).encode("utf-8")] if words else []
  return [" ".join(words[i:i + size]).encode("utf-8") for i in range(len(words) - size + 1)]


def minhash_signature(text: str, num_perm: int, shingle_size: int, seed: int = 1) -> np.ndarray:
  """uint64[num_perm] MinHash of the word-shingle set (datasketch)."""
  mh = MinHash(num_perm=num_perm, seed=seed)
  grams = shingles(text, shingle_size)
  if grams:
    mh.update_batch(grams)
  return mh.hashvalues.astype(np.uint64)


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
  """(bands, rows) minimizing false positives + false negatives at `threshold` (datasketch)."""
  return _optimal_param(threshold, num_perm, 0.5, 0.5)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[str]:
  """One key per LSH band: band index + hash of the band's rows."""
  return [f"{b}:" + hashlib.sha1(signature[b * rows:(b + 1) * rows].tobytes()).hexdigest()[:16]
          for b in range(bands)]


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
  return float(np.mean(sig_a == sig_b))


def near_duplicates_in_bucket(members: Iterable[tuple[str, np.ndarray]],
                              threshold: float) -> set[str]:
  """doc_ids in one LSH bucket to drop: those similar to an earlier member."""
  ordered = sorted(members, key=lambda m: m[0])
  drop = set()
  for i, (doc_id, sig) in enumerate(ordered):
    if any(jaccard(sig, other) >= threshold for _, other in ordered[:i]):
      drop.add(doc_id)
  return drop


def find_near_duplicates(signatures: dict[str, np.ndarray], threshold: float,
                         num_perm: int) -> set[str]:
  """Local runner: groups band keys in a dict (the Beam pipeline uses GroupByKey)."""
  bands, rows = lsh_params(threshold, num_perm)
  buckets: dict[str, list[tuple[str, np.ndarray]]] = {}
  for doc_id, sig in signatures.items():
    for key in band_keys(sig, bands, rows):
      buckets.setdefault(key, []).append((doc_id, sig))
  drop: set[str] = set()
  for members in buckets.values():
    if len(members) > 1:
      drop |= near_duplicates_in_bucket(members, threshold)
  return drop
