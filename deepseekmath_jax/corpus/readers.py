"""Streaming readers for the corpus pool: WARC/WET (warcio), HTML files, jsonl.

Every input yields `RawRecord`s one at a time (bounded memory: a record's payload is read up to
`max_bytes` and no further). A record that cannot become a document (bad JSON, a truncated
gzip member, a payload over the limit, a non-HTML response) is still yielded, with `error` set
to the reason, so the pipeline can count it: documents_in = documents_out + sum(dropped).
WARC records that are not documents by nature (request, metadata, warcinfo) are not yielded;
they are counted in `ReaderStats.ignored`.

Decoding "any encoding": a BOM wins; then strict UTF-8 (most of the web, and it catches pages
whose meta charset is stale, e.g. a gb2312 declaration on UTF-8 bytes); then the HTTP or
<meta> charset; then cp1252 with replacement characters, which never fails.
"""

from __future__ import annotations

import codecs
import collections
import dataclasses
import gzip
import io
import json
import os
import re
import zlib
from pathlib import Path
from typing import Iterable, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".arc.gz")
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
TEXT_SUFFIXES = (".txt", ".md")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_CANONICAL = re.compile(
    r"""<link\b[^>]*\brel\s*=\s*["']?canonical["']?[^>]*\bhref\s*=\s*["']([^"'>\s]+)|"""
    r"""<meta\b[^>]*\bproperty\s*=\s*["']og:url["'][^>]*\bcontent\s*=\s*["']([^"'>\s]+)""",
    re.I)


@dataclasses.dataclass
class RawRecord:
  """One candidate document from the pool (before extraction)."""
  doc_id: str              # "<source>#<index in source>", unique and ordered
  source: str              # input file
  url: str | None = None
  html: str | None = None  # exactly one of html/text is set when error is None
  text: str | None = None
  error: str | None = None  # malformed reason (the record is dropped and counted)


@dataclasses.dataclass
class ReaderStats:
  ignored: collections.Counter = dataclasses.field(default_factory=collections.Counter)


def decode_bytes(data: bytes, declared: str | None = None) -> str:
  """Decodes a page whatever its encoding (see module docstring for the order)."""
  for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
    if data.startswith(bom):
      return data.decode(codec, errors="replace")
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError:
    pass
  if not declared:
    match = _META_CHARSET.search(data[:8192])
    declared = match.group(1).decode("ascii", "ignore") if match else None
  if declared:
    try:
      return data.decode(declared, errors="replace")
    except LookupError:
      pass
  return data.decode("cp1252", errors="replace")


def canonical_url(html: str) -> str | None:
  match = _CANONICAL.search(html[:65536])
  return (match.group(1) or match.group(2)) if match else None


def _charset(content_type: str | None) -> str | None:
  match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.I)
  return match.group(1) if match else None


def _has_suffix(path: str, suffixes: tuple[str, ...]) -> bool:
  return path.lower().endswith(suffixes)


def list_inputs(paths: str | Iterable[str], suffixes: tuple[str, ...] | None = None) -> list[str]:
  """Files under the given files/folders (comma-separated string or list), sorted."""
  if isinstance(paths, str):
    paths = [p for p in paths.split(",") if p.strip()]
  suffixes = suffixes or (WARC_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES)
  out = []
  for path in paths:
    path = os.path.expanduser(path.strip())
    if os.path.isdir(path):
      for root, _, files in os.walk(path):
        out.extend(os.path.join(root, f) for f in files if _has_suffix(f, suffixes))
    elif os.path.isfile(path):
      out.append(path)
    else:
      raise FileNotFoundError(f"corpus input {path!r} does not exist")
  return sorted(set(out))


def _open(path: str):
  return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _read_limited(stream, max_bytes: int) -> bytes | None:
  data = stream.read(max_bytes + 1)
  return None if len(data) > max_bytes else data


def gzip_complete(path: str) -> bool:
  """False if a (multi-member) gzip file ends inside a member, i.e. it was truncated."""
  decomp, in_member = zlib.decompressobj(31), False
  with open(path, "rb") as f:
    while block := f.read(1 << 20):
      while block:
        decomp.decompress(block)
        in_member = not decomp.eof
        if decomp.eof:
          block = decomp.unused_data
          decomp = zlib.decompressobj(31)
        else:
          block = b""
  return not in_member


def read_warc(path: str, max_bytes: int, stats: ReaderStats | None = None) -> Iterator[RawRecord]:
  """Documents from a WARC (response/resource records) or WET (conversion records) file.

  warcio stops quietly at a truncated gzip member, so .gz files are checked first; in a
  truncated file the last document is reported as malformed (`warc_truncated`).
  """
  truncated = path.endswith(".gz") and not gzip_complete(path)
  pending: RawRecord | None = None
  for record in _read_warc_records(path, max_bytes, stats):
    if pending is not None:
      yield pending
    pending = record
  if pending is not None:
    if truncated and pending.error is None:
      pending = RawRecord(pending.doc_id, path, pending.url, error="warc_truncated")
    yield pending


def _read_warc_records(path: str, max_bytes: int,
                       stats: ReaderStats | None) -> Iterator[RawRecord]:
  index = 0
  try:
    with open(path, "rb") as stream:
      for record in ArchiveIterator(stream, arc2warc=True):
        kind = record.rec_type
        if kind not in ("response", "resource", "conversion"):
          if stats is not None:
            stats.ignored[f"warc_{kind}"] += 1
          continue
        url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
        url = url or None
        if kind == "resource" and not (url or "").startswith(("http://", "https://")):
          if stats is not None:  # wget logs and other crawler files, not web pages
            stats.ignored["warc_resource_not_web"] += 1
          continue
        doc_id = f"{path}#{index:09d}"
        index += 1
        if kind == "response":
          status = record.http_headers.get_statuscode() if record.http_headers else None
          content_type = record.http_headers.get_header("Content-Type") if (
              record.http_headers) else None
          if status and not status.startswith("2"):
            yield RawRecord(doc_id, path, url, error="http_status_not_2xx")
            continue
        else:
          content_type = record.rec_headers.get_header("Content-Type")
        data = _read_limited(record.content_stream(), max_bytes)
        if data is None:
          yield RawRecord(doc_id, path, url, error="too_large")
          continue
        if kind == "conversion" or (content_type or "").startswith("text/plain"):
          yield RawRecord(doc_id, path, url, text=decode_bytes(data, _charset(content_type)))
        elif any(t in (content_type or "").lower() for t in _HTML_TYPES):
          yield RawRecord(doc_id, path, url, html=decode_bytes(data, _charset(content_type)))
        else:
          yield RawRecord(doc_id, path, url, error="unsupported_content_type")
  except (ArchiveLoadFailed, EOFError, OSError, ValueError) as exc:
    # A truncated or corrupt archive: one malformed record, the rest of the file is unreadable.
    yield RawRecord(f"{path}#{index:09d}", path, error="warc_parse_error:" + type(exc).__name__)


def read_html_file(path: str, max_bytes: int) -> Iterator[RawRecord]:
  doc_id = f"{path}#{0:09d}"
  with _open(path) as stream:
    data = _read_limited(stream, max_bytes)
  if data is None:
    yield RawRecord(doc_id, path, error="too_large")
    return
  html = decode_bytes(data)
  yield RawRecord(doc_id, path, canonical_url(html), html=html)


def read_jsonl(path: str, max_bytes: int) -> Iterator[RawRecord]:
  """One document per line: {"text": ...} or {"html": ...}, optional "url"."""
  with _open(path) as stream:
    for index, line in enumerate(stream):
      doc_id = f"{path}#{index:09d}"
      if not line.strip():
        continue
      if len(line) > max_bytes:
        yield RawRecord(doc_id, path, error="too_large")
        continue
      try:
        row = json.loads(line)
      except (json.JSONDecodeError, UnicodeDecodeError):
        yield RawRecord(doc_id, path, error="bad_json")
        continue
      if not isinstance(row, dict):
        yield RawRecord(doc_id, path, error="bad_json")
        continue
      url = row.get("url") if isinstance(row.get("url"), str) else None
      html, text = row.get("html"), row.get("text")
      if html is None and text is None:
        yield RawRecord(doc_id, path, url, error="missing_text_field")
      elif not isinstance(html if html is not None else text, str):
        yield RawRecord(doc_id, path, url, error="bad_field_type")
      elif html is not None:
        yield RawRecord(doc_id, path, url, html=html)
      else:
        yield RawRecord(doc_id, path, url, text=text)


def read_path(path: str, max_bytes: int = 5_000_000,
              stats: ReaderStats | None = None) -> Iterator[RawRecord]:
  """Dispatches on the file suffix."""
  if _has_suffix(path, WARC_SUFFIXES):
    yield from read_warc(path, max_bytes, stats)
  elif _has_suffix(path, HTML_SUFFIXES):
    yield from read_html_file(path, max_bytes)
  elif _has_suffix(path, JSONL_SUFFIXES):
    yield from read_jsonl(path, max_bytes)
  else:
    raise ValueError(f"{path}: unsupported pool file type; expected one of "
                     f"{WARC_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES}")


# Seed (positive math text) -------------------------------------------------------------------


def split_passages(texts: list[str], words: int) -> list[str]:
  """Cuts every text longer than `words` words into passages of `words` words (0: unchanged).

  A seed that mixes real math pages (thousands of words) with problems (about a hundred) would
  otherwise give each page the weight of one problem in the classifier's training; as passages,
  a page weighs by its length and its later sections (the Lean code of a textbook chapter, the
  proofs after a blueprint's introduction) are seen too.
  """
  if words <= 0:
    return list(texts)
  out = []
  for text in texts:
    tokens = text.split()
    if len(tokens) <= words:
      out.append(text)
    else:
      out += [" ".join(tokens[i:i + words]) for i in range(0, len(tokens), words)]
  return out


# Field combinations tried, in order, for a seed jsonl row (MATH, GSM8K, plain text).
SEED_FIELDS = (("text",), ("problem", "solution"), ("question", "answer"), ("html",))


def jsonl_rows(lines: Iterable[str], path: str) -> Iterator[tuple[int, object]]:
  """(line number, parsed row) of a jsonl file's non-blank lines; a line that is not JSON is a
  ValueError naming `path` and the line (seed, labels and benchmark files are inputs a run
  cannot do without, so they fail loudly rather than count and skip)."""
  for line_no, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      yield line_no, json.loads(line)
    except json.JSONDecodeError as exc:
      raise ValueError(f"{path}:{line_no}: not JSON ({exc})") from None


def read_seed(paths: str, max_docs: int | None = None) -> list[str]:
  """Positive math text: jsonl rows (see SEED_FIELDS), .txt/.md files, or HTML files.

  Raises ValueError naming the file and line for a row with none of the known fields.
  """
  from deepseekmath_jax.corpus.html_to_text import html_to_text  # heavy import, only if needed
  out: list[str] = []
  for path in list_inputs(paths, JSONL_SUFFIXES + TEXT_SUFFIXES + HTML_SUFFIXES):
    if _has_suffix(path, TEXT_SUFFIXES):
      out.append(Path(path).read_text(encoding="utf-8", errors="replace"))
    elif _has_suffix(path, HTML_SUFFIXES):
      out.append(html_to_text(decode_bytes(Path(path).read_bytes())).text)
    else:
      with _open(path) as stream:
        for line_no, row in jsonl_rows(io.TextIOWrapper(stream, "utf-8"), path):
          fields = next((f for f in SEED_FIELDS if all(isinstance(row.get(k), str)
                                                       for k in f)), None)
          if fields is None:
            raise ValueError(f"{path}:{line_no}: seed row has none of the fields "
                             f"{[list(f) for f in SEED_FIELDS]}")
          if fields == ("html",):
            out.append(html_to_text(row["html"]).text)
          else:
            out.append("\n\n".join(row[k] for k in fields))
          if max_docs and len(out) >= max_docs:
            return out
    if max_docs and len(out) >= max_docs:
      return out[:max_docs]
  return out
