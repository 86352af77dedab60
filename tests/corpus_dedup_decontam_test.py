"""Dedup keys (URL, exact, MinHash LSH) and n-gram decontamination."""

import json

import numpy as np

from deepseekmath_jax.corpus import decontam
from deepseekmath_jax.corpus import dedup

_TEXT = ("Let n be a positive integer such that the sum of the first n odd numbers equals "
         "a perfect square; we prove by induction that 1 + 3 + ... + (2n - 1) = n^2 holds for "
         "every n, and then use this identity to count lattice points inside a square of side "
         "length n, which gives a combinatorial proof of the same statement.") * 2


def test_normalize_url():
  assert dedup.normalize_url("HTTPS://www.Example.com:443/a/b/?y=2&x=1#frag") == \
      dedup.normalize_url("http://example.com/a/b?x=1&y=2")
  assert dedup.normalize_url(None) is None
  assert dedup.url_domain("https://www.mathoverflow.net/questions/1") == "mathoverflow.net"


def test_exact_hash_ignores_case_space_punctuation():
  assert dedup.text_hash("Hello,  World!") == dedup.text_hash("hello world")
  assert dedup.text_hash("hello world") != dedup.text_hash("hello there world")


def test_near_duplicates_found_and_distinct_pages_kept():
  near = _TEXT.replace("lattice points", "grid points").replace("induction", "recursion")
  other = " ".join(reversed(_TEXT.split()))
  sigs = {f"doc{i}": dedup.minhash_signature(t, 128, 5) for i, t in
          enumerate([_TEXT, near, other, _TEXT + " extra words at the end"])}
  assert dedup.find_near_duplicates(sigs, 0.7, 128) == {"doc1", "doc3"}
  bands, rows = dedup.lsh_params(0.7, 128)
  assert bands * rows <= 128 and len(dedup.band_keys(sigs["doc0"], bands, rows)) == bands


def _bench(tmp_path, rows, name="b"):
  path = tmp_path / f"{name}.jsonl"
  path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
  return decontam.Benchmark(name, str(path), ("question", "answer"))


def test_decontam_10gram_and_short_exact(tmp_path):
  q = ("Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and "
       "bakes muffins for her friends every day with four.")
  bench = _bench(tmp_path, [{"question": q, "answer": "She makes <<9*2=18>>18 dollars."},
                            {"question": "What is 2 plus 2", "answer": "4"}])
  index = decontam.Decontaminator([bench])
  page = "Forum post: " + q.replace("16", "$16$").upper() + " Any hints?"
  hits = index.check(page)
  assert [h.benchmark for h in hits] == ["b"] and len(hits[0].gram.split()) == 10
  assert index.check("Quiz: what is 2 plus 2? Easy.")  # 4-gram benchmark text, exact match
  assert not index.check("Janet's ducks lay eggs. She bakes muffins on Sundays.")
  assert not index.check("what is 2 plus")


def test_generic_ngrams_are_pruned(tmp_path):
  seq = "list 1 2 3 4 5 6 7 8 9 10 11 12"
  bench = _bench(tmp_path, [{"question": f"{seq} problem {i} unique words here", "answer": ""}
                            for i in range(5)])
  index = decontam.Decontaminator([bench], max_text_frequency=3)
  assert index.pruned > 0 and not index.check("a page that counts 1 2 3 4 5 6 7 8 9 10 11 12")
  assert index.check("list 1 2 3 4 5 6 7 8 9 10 11 12 problem 3 unique words here")


def test_markup_only_ngrams_are_pruned(tmp_path):
  """A 10-gram of TeX markup and one-letter variables (a 2x2 matrix written twice) is no mark of
  the solution it came from; the solution's own words and numbers still are."""
  solution = (r"Let $\mathbf{M} = \begin{pmatrix} a & b \\ c & d \end{pmatrix}.$ Then "
              r"$\begin{pmatrix} a & b \\ c & d \end{pmatrix} \begin{pmatrix} a & b \\ c & d "
              r"\end{pmatrix} = \begin{pmatrix} 19 & 30 \\ -45 & -71 \end{pmatrix},$ so the "
              r"trace gives nineteen.")
  bench = _bench(tmp_path, [{"question": solution, "answer": ""}])
  manual = (r"Environments: $\begin{pmatrix} a & b \\ c & d \end{pmatrix}$ | "
            r"\begin{pmatrix} a & b \\ c & d \end{pmatrix} | Greek letters: $\alpha$")
  index = decontam.Decontaminator([bench])
  assert index.pruned_markup > 0 and not index.check(manual)
  assert index.check("Copied: " + solution)
  # Markup with the item's numbers in it is content.
  assert index.check(r"gives $\begin{pmatrix} 19 & 30 \\ -45 & -71 \end{pmatrix},$ so the trace")
  assert decontam.Decontaminator([bench], prune_markup=False).check(manual)  # the old rule


def test_parse_benchmarks_spec():
  out = decontam.parse_benchmarks("a={data_dir}/x.jsonl:q,a; b=/y.jsonl:t", "/d")
  assert out == [decontam.Benchmark("a", "/d/x.jsonl", ("q", "a")),
                 decontam.Benchmark("b", "/y.jsonl", ("t",))]
  try:
    decontam.parse_benchmarks("oops", "/d")
    raise AssertionError("expected ValueError")
  except ValueError as exc:
    assert "oops" in str(exc)
