"""html -> text keeps the math: MathML translation, fragments and real pages, encodings."""

import re
from pathlib import Path

import lxml.etree
import pytest

from deepseekmath_jax.corpus import html_to_text
from deepseekmath_jax.corpus import mathml
from deepseekmath_jax.corpus import readers

WEB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "web"
needs_data = pytest.mark.skipif(not WEB.exists(), reason=f"{WEB} absent (shared test data)")


def _squash(text: str) -> str:
  return re.sub(r"\s+", "", text)


def _extract(name: str) -> str:
  html = readers.decode_bytes((WEB / "pages" / name).read_bytes())
  return html_to_text.html_to_text(html).text


def test_mathml_structures_translate_to_tex():
  math = lxml.etree.fromstring(
      "<math><mfrac><mn>1</mn><msqrt><msub><mi>d</mi><mi>k</mi></msub></msqrt></mfrac>"
      "<mo>+</mo><munderover><mo>∑</mo><mrow><mi>i</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi>"
      "</munderover><msup><mi>x</mi><mn>2</mn></msup><mo>≤</mo><mi>α</mi></math>")
  assert mathml.mathml_to_latex(math) == r"\frac{1}{\sqrt{d_{k}}} + \sum_{i = 1}^{n} x^{2} \leq \alpha"


def test_mathml_prefers_tex_annotation():
  math = lxml.etree.fromstring(
      '<math><semantics><mi>x</mi><annotation encoding="application/x-tex">\\hat{x}'
      "</annotation></semantics></math>")
  assert mathml.mathml_to_latex(math) == r"\hat{x}"


@needs_data
@pytest.mark.parametrize("name", [
    "defuddle__math--mathjax-tex-scripts", "defuddle__math--latex-image-services",
    "defuddle__math--small-equation-image", "defuddle__math--katex",
    "defuddle__issues--141-arxiv-equation-tables", "defuddle__math--temml",
])
def test_fragment_formulas_match_expected(name):
  """Every TeX formula in the reference extraction appears in ours (whitespace aside)."""
  expected = (WEB / "pages" / f"{name}.expected.txt").read_text()
  formulas = [f.strip() for f in re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$", expected, re.S)
              for f in f if f.strip()]
  assert formulas, name
  got = _squash(_extract(f"{name}.html"))
  missing = [f for f in formulas if _squash(f) not in got]
  assert len(missing) <= len(formulas) // 10, missing


@needs_data
def test_mathml_without_tex_source_is_translated():
  text = _extract("defuddle__math--mathjax-svg.html")
  assert r"\lambda_{1} \cdot r_{\text{parallel}}" in text


@needs_data
@pytest.mark.parametrize("name", ["mil__C04_Sets_and_Functions.html", "lmf__chap-smo.html",
                                  "bv__sect0001.html"])
def test_tex_delimiters_survive_on_real_pages(name):
  html = (WEB / "pages" / name).read_text()
  root = html_to_text._parse(html)
  for script in root.iter("script", "style"):
    script.text = ""
  visible = root.text_content()
  text = _extract(name)
  for delim in (r"\(", r"\["):
    assert text.count(delim) >= 0.85 * visible.count(delim), (delim, name)


@needs_data
def test_display_math_in_div_survives():
  """plasTeX puts display math in <div class=displaymath>, which trafilatura alone drops."""
  text = _extract("lmf__chap-commutativity.html")
  assert _squash(r"\[  \bar{\bar g}=g,\qquad") in _squash(text)


@needs_data
def test_wikipedia_mathml_becomes_tex():
  text = _extract("readability__wikipedia-3.html")
  assert "Hermitian" in text and text.count("$") >= 60 and r"\overline" in text


@needs_data
def test_encodings():
  latin = readers.decode_bytes((WEB / "pages" / "traf__landwirt.com.sensortechnik.html")
                               .read_bytes())
  assert "ü" in latin or "ä" in latin or "ö" in latin
  stale = next((WEB / "pages").glob("mh__article_45fcfa7d*.html"))
  text = readers.decode_bytes(stale.read_bytes())  # declares gb2312, bytes are UTF-8
  assert "\ufffd" not in text and "锟" not in text
  assert not readers.decode_bytes(
      (WEB / "pages" / "readability__la-nacion.html").read_bytes()).startswith("\ufeff")


def test_boilerplate_removed_and_short_pages_fall_back():
  body = "<p>" + "The integral $\\int_0^1 x\\,dx = 1/2$ is computed by the power rule. " * 8
  html = (f"<html><body><nav><a href='/'>Home</a> | <a href='/about'>About us menu</a></nav>"
          f"<article>{body}</p></article><footer>Copyright 2024 footer links</footer></body></html>")
  text = html_to_text.html_to_text(html).text
  assert r"\int_0^1" in text and "footer links" not in text and "About us menu" not in text
  short = html_to_text.html_to_text("<html><body><p>x = 1</p></body></html>", min_chars=50)
  assert short.text == "x = 1"
