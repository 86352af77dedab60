"""Readers: WARC/WET/HTML/jsonl, malformed records counted by reason, bounded payloads."""

import gzip
import json
from pathlib import Path

import pytest

from deepseekmath_jax.corpus import readers

WEB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "web"
needs_data = pytest.mark.skipif(not WEB.exists(), reason=f"{WEB} absent (shared test data)")


@needs_data
def test_common_crawl_warc_and_wet():
  stats = readers.ReaderStats()
  warc = list(readers.read_path(str(WEB / "warc" / "ccwhirlwind__whirlwind.warc.gz"),
                                stats=stats))
  wet = list(readers.read_path(str(WEB / "warc" / "ccwhirlwind__whirlwind.warc.wet.gz"),
                               stats=stats))
  assert [r.url for r in warc] == ["https://an.wikipedia.org/wiki/Escopete"]
  assert warc[0].html and "Escopete" in warc[0].html and warc[0].error is None
  assert wet[0].text and "Escopete" in wet[0].text
  assert stats.ignored["warc_request"] == 1 and stats.ignored["warc_warcinfo"] == 2


@needs_data
def test_wget_warc_angle_bracket_uris():
  records = list(readers.read_path(str(WEB / "warc" / "dolma__sample-0000.warc.gz")))
  assert len(records) == 22
  assert all(r.url.startswith("http") and "<" not in r.url for r in records)


def test_jsonl_malformed_records_counted(tmp_path):
  path = tmp_path / "pool.jsonl"
  path.write_text("\n".join([
      json.dumps({"url": "https://a.org/1", "text": "fine text"}),
      "{not json",
      json.dumps({"url": "https://a.org/2"}),
      json.dumps({"text": 5}),
      json.dumps(["a list"]),
      json.dumps({"html": "<p>x</p>"}),
      json.dumps({"text": "y" * 500}),
  ]) + "\n")
  records = list(readers.read_path(str(path), max_bytes=300))
  assert [r.error for r in records] == [None, "bad_json", "missing_text_field", "bad_field_type",
                                        "bad_json", None, "too_large"]
  assert records[5].html == "<p>x</p>"
  assert records[0].doc_id.endswith("#000000000")


@needs_data
def test_truncated_warc_is_one_malformed_record(tmp_path):
  data = (WEB / "warc" / "dolma__sample-0000.warc.gz").read_bytes()
  path = tmp_path / "cut.warc.gz"
  path.write_bytes(data[: len(data) // 2])
  records = list(readers.read_path(str(path)))
  errors = [r for r in records if r.error]
  assert len(errors) == 1 and errors[0].error == "warc_truncated"
  assert 0 < len(records) - 1 < 22


def test_non_html_and_oversized_responses(tmp_path):
  from warcio.statusandheaders import StatusAndHeaders
  from warcio.warcwriter import WARCWriter
  path = tmp_path / "made.warc.gz"
  with open(path, "wb") as f:
    writer = WARCWriter(f, gzip=True)
    for url, ctype, body in [("https://x.org/a", "text/html; charset=iso-8859-1",
                              "<p>caf\xe9</p>".encode("latin-1")),
                             ("https://x.org/b.png", "image/png", b"\x89PNG"),
                             ("https://x.org/c", "text/html", b"<p>" + b"z" * 2000 + b"</p>")]:
      headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
      writer.write_record(writer.create_warc_record(url, "response", payload=__import__(
          "io").BytesIO(body), http_headers=headers))
  records = list(readers.read_path(str(path), max_bytes=1000))
  assert records[0].html == "<p>café</p>"
  assert [r.error for r in records] == [None, "unsupported_content_type", "too_large"]


def test_seed_formats(tmp_path):
  (tmp_path / "a.jsonl").write_text(json.dumps({"problem": "P?", "solution": "S."}) + "\n" +
                                    json.dumps({"question": "Q?", "answer": "#### 4"}) + "\n")
  (tmp_path / "b.txt").write_text("Let $x=1$.")
  with gzip.open(tmp_path / "c.jsonl.gz", "wt") as f:
    f.write(json.dumps({"text": "T"}) + "\n")
  assert readers.read_seed(str(tmp_path)) == ["P?\n\nS.", "Q?\n\n#### 4", "Let $x=1$.", "T"]
  (tmp_path / "d.jsonl").write_text(json.dumps({"other": 1}) + "\n")
  with pytest.raises(ValueError, match=r"d.jsonl:1"):
    readers.read_seed(str(tmp_path))


def test_split_passages():
  page = " ".join(f"w{i}" for i in range(450))
  assert readers.split_passages(["short problem", page], 200) == [
      "short problem", " ".join(f"w{i}" for i in range(200)),
      " ".join(f"w{i}" for i in range(200, 400)), " ".join(f"w{i}" for i in range(400, 450))]
  assert readers.split_passages([page], 0) == [page]
