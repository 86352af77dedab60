"""HTML -> plain text that keeps the math (arXiv:2402.03300 §2.1).

Boilerplate removal (navigation, footers, comment widgets, cookie banners) is done by
trafilatura, a maintained main-content extractor. Trafilatura drops what it does not see as
prose, and that includes every way the web writes formulas: `<script type="math/tex">`
(MathJax v2), `<math>` (MathML, KaTeX's hidden copy, MathJax v3's assistive copy, Wikipedia),
formula images whose TeX is in `alt` or in the image URL, and `\\[...\\]` blocks in their own
`<div>`. So before trafilatura sees the page we rewrite every formula in the DOM as plain text
TeX (`$...$` inline, `$$...$$` display) inside an ordinary text element; trafilatura then keeps
it like any sentence. MathML is translated by `mathml.py`.

If trafilatura finds no main content (short pages, forum fragments), we fall back to the visible
text of the page minus `nav`/`header`/`footer`/`aside`, and record which extractor ran.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from typing import Any

import lxml.etree
import lxml.html
import trafilatura

from deepseekmath_jax.corpus import mathml

# Formula-image services that put the TeX in the URL.
_IMG_TEX_URL = re.compile(
    r"(?:codecogs\.com/[^?]*\?|chart\.apis\.google\.com/chart\?(?:.*&)?chl=|"
    r"latex\.php\?(?:.*&)?latex=|/formula/|mathtex\.cgi\?|latex2png[^?]*\?)([^&]+)")
# Looks like TeX: a backslash command, or sub/superscript with braces.
_TEXLIKE = re.compile(r"\\[A-Za-z]+|[_^]\{|^[A-Za-z0-9]\s*[=<>+\-]\s*[A-Za-z0-9]")
# Inline text that is display math (plasTeX `\[..\]` divs, Sphinx `div.math`).
_DISPLAY_TEXT = re.compile(r"^\s*(\\\[|\$\$|\\begin\{)")
_MATHJAX_RENDERED = {"MathJax_Preview", "MathJax", "MathJax_Display", "MathJax_SVG",
                     "MathJax_SVG_Display", "MathJax_CHTML", "MJX_Assistive_MathML",
                     "katex-html"}
_TEX_ATTRIBUTES = ("data-tex", "data-latex", "data-entry", "data-math")
_BOILERPLATE_TAGS = ("nav", "header", "footer", "aside", "script", "style", "noscript",
                     "form", "button", "select", "svg", "template")
_BLOCK_PARENTS = {"div", "body", "section", "article", "main", "center", "blockquote", "figure",
                  "td", "th", "li", "dd"}


@dataclasses.dataclass(frozen=True)
class Extraction:
  """Result of one page: the text, how it was made, and how many formulas it kept."""
  text: str
  extractor: str  # "trafilatura" | "fallback"
  formulas: int   # formulas rewritten as TeX before extraction


def _classes(elem: Any) -> set[str]:
  return set((elem.get("class") or "").split())


def _replace_with_tex(elem: Any, tex: str, display: bool) -> None:
  """Replaces `elem` by a text element holding `$tex$` (or `$$tex$$`), keeping its tail."""
  tex = " ".join(tex.split())
  parent = elem.getparent()
  if parent is None:
    return
  if display and mathml.local_name(parent) in _BLOCK_PARENTS:
    new = lxml.html.Element("p")
    new.text = "$$" + tex + "$$"
  else:
    new = lxml.html.Element("span")
    new.text = ("$$" + tex + "$$") if display else ("$" + tex + "$")
  new.tail = elem.tail
  parent.replace(elem, new)


def _image_tex(img: Any) -> str | None:
  alt = (img.get("alt") or "").strip()
  src = img.get("src") or ""
  cls = " ".join(_classes(img)).lower()
  if alt and (_TEXLIKE.search(alt) or "latex" in cls or "tex" in cls or "math" in cls):
    return alt
  match = _IMG_TEX_URL.search(src)
  if match:
    return urllib.parse.unquote_plus(match.group(1)) if "+" in match.group(1) and (
        "%2B" not in match.group(1)) else urllib.parse.unquote(match.group(1))
  return None


def rewrite_math(root: Any) -> int:
  """Rewrites every formula under `root` as TeX text in place; returns how many."""
  count = 0
  # Rendered duplicates of formulas whose source we read elsewhere.
  for elem in list(root.iter()):
    if _classes(elem) & _MATHJAX_RENDERED and elem.getparent() is not None:
      has_source = (elem.getnext() is not None and elem.getnext().tag == "script") or (
          "katex-html" in _classes(elem) or "MathJax_Preview" in _classes(elem))
      if has_source:
        elem.getparent().remove(elem)  # the tail is whitespace between math and its script
  # Wikipedia: <span class="mwe-math-element"> with MathML + a fallback <img alt=TeX>.
  for elem in list(root.iter("span", "div")):
    if "mwe-math-element" in _classes(elem) and elem.getparent() is not None:
      math = next((m for m in elem.iter() if mathml.local_name(m) == "math"), None)
      img = next(elem.iter("img"), None)
      tex = (mathml.mathml_to_latex(math) if math is not None else None) or (
          img.get("alt") if img is not None else None)
      if tex:
        tex = re.sub(r"^\{\\displaystyle\s*(.*)\}$", r"\1", tex.strip(), flags=re.S)
        display = any("display" in c for c in _classes(elem)) or (
            math is not None and math.get("display") == "block")
        _replace_with_tex(elem, tex, display)
        count += 1
  # KaTeX: <span class="katex"> holds MathML with a TeX annotation.
  for elem in list(root.iter("span")):
    if "katex" in _classes(elem) and elem.getparent() is not None:
      math = next((m for m in elem.iter() if mathml.local_name(m) == "math"), None)
      if math is not None:
        parent = elem.getparent()
        display = "katex-display" in _classes(parent) or math.get("display") == "block"
        _replace_with_tex(elem, mathml.mathml_to_latex(math), display)
        count += 1
  # MathJax v2 sources.
  for elem in list(root.iter("script")):
    kind = (elem.get("type") or "").lower()
    if kind.startswith("math/tex") and elem.text and elem.text.strip():
      _replace_with_tex(elem, elem.text.strip(), "mode=display" in kind.replace(" ", ""))
      count += 1
  # MathJax v3 containers (assistive MathML if present, else the CHTML glyphs).
  for elem in list(root.iter()):
    if mathml.local_name(elem) == "mjx-container" and elem.getparent() is not None:
      math = next((m for m in elem.iter() if mathml.local_name(m) == "math"), None)
      tex = mathml.mathml_to_latex(math) if math is not None else mathml.mathjax_chtml_text(elem)
      if tex:
        _replace_with_tex(elem, tex, elem.get("display") in ("true", "block"))
        count += 1
  # Any remaining MathML; a wrapper's `data-tex`-style attribute (Temml, Gemini) wins.
  for elem in list(root.iter()):
    if mathml.local_name(elem) == "math" and elem.getparent() is not None:
      parent = elem.getparent()
      source = next((parent.get(a) for a in _TEX_ATTRIBUTES if parent.get(a)), None)
      tex = source or mathml.mathml_to_latex(elem)
      if tex:
        if source and len(parent) == 1:
          elem, parent.text = parent, None  # replace the wrapper, it only held the formula
        _replace_with_tex(elem, tex, elem.get("display") == "block")
        count += 1
  # Formula images.
  for img in list(root.iter("img")):
    tex = _image_tex(img)
    if tex:
      parent = img.getparent()
      alone = parent is not None and not (parent.text or "").strip() and len(parent) == 1 and (
          not (img.tail or "").strip())
      _replace_with_tex(img, tex, alone)
      count += 1
  # TeX typed as text (`\[..\]`, `$$..$$`) in a <div>: make it a paragraph, or trafilatura
  # treats the div as layout and drops it.
  for elem in list(root.iter("div", "span")):
    if elem.text and _DISPLAY_TEXT.match(elem.text) and len(elem) == 0:
      elem.tag = "p"
  return count


def _parse(html: str) -> Any:
  try:
    return lxml.html.document_fromstring(html)
  except ValueError:  # a str with an <?xml encoding=...?> declaration
    return lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", html))


def _fallback_text(root: Any) -> str:
  for tag in _BOILERPLATE_TAGS:
    for elem in list(root.iter(tag)):
      if elem.getparent() is not None:
        elem.drop_tree()
  body = root.find("body")
  node = body if body is not None else root
  for block in node.iter("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "pre"):
    block.tail = "\n" + (block.tail or "")
  return node.text_content()


def normalize_whitespace(text: str) -> str:
  lines = [" ".join(line.split()) for line in text.splitlines()]
  out, blank = [], False
  for line in lines:
    if line:
      out.append(line)
      blank = False
    elif not blank and out:
      out.append("")
      blank = True
  return "\n".join(out).strip()


def html_to_text(html: str, *, url: str | None = None, min_chars: int = 200) -> Extraction:
  """Main text of a page with formulas as TeX.

  Args:
    html: the decoded page.
    url: page URL (trafilatura uses it to resolve site-specific rules).
    min_chars: if trafilatura keeps fewer characters than this, fall back to the visible text.
  """
  if not html.strip():
    return Extraction("", "none", 0)
  try:
    root = _parse(html)
  except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError):
    return Extraction("", "none", 0)
  formulas = rewrite_math(root)
  text = trafilatura.extract(root, url=url, favor_recall=True, include_tables=True,
                             include_comments=True, deduplicate=False, with_metadata=False)
  if text and len(text) >= min_chars:
    return Extraction(normalize_whitespace(text), "trafilatura", formulas)
  fallback = normalize_whitespace(_fallback_text(root))
  if text and len(text) >= len(fallback):
    return Extraction(normalize_whitespace(text), "trafilatura", formulas)
  return Extraction(fallback, "fallback", formulas)
