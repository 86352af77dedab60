"""MathML -> LaTeX, so formulas in web pages reach the corpus as TeX.

Web pages carry math as MathML (Wikipedia, KaTeX's hidden copy, MathJax v3's assistive copy,
arXiv's LaTeXML, Temml). The DeepSeekMath corpus keeps formulas in their TeX form
(arXiv:2402.03300 §2.1 trains on math web text as LaTeX), so each `<math>` element becomes TeX:

1. the TeX the page already carries: `<annotation encoding="application/x-tex">` (KaTeX,
   LaTeXML, Wikipedia) or the `alttext` attribute (Wikipedia, LaTeXML);
2. otherwise a structural translation of presentation MathML (mfrac -> \\frac, msub -> _{...},
   munderover -> \\sum_{..}^{..}, mtable -> matrix/aligned, ...).

No maintained Python package translates MathML to LaTeX without a JVM or XSLT stylesheets we
would have to vendor, so step 2 is written here; it covers the presentation elements MathJax,
KaTeX and Temml emit. Works on lxml elements (lxml parses HTML and XHTML).
"""

from __future__ import annotations

from typing import Any

# Unicode characters MathML uses for operators and identifiers -> TeX commands.
_SYMBOLS: dict[str, str] = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon",
    "ϵ": r"\epsilon", "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ϑ": r"\vartheta",
    "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi",
    "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\phi",
    "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta",
    "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma", "Φ": r"\Phi",
    "Ψ": r"\Psi", "Ω": r"\Omega", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∬": r"\iint",
    "∮": r"\oint", "∞": r"\infty", "∂": r"\partial", "∇": r"\nabla", "±": r"\pm", "∓": r"\mp",
    "×": r"\times", "÷": r"\div", "⋅": r"\cdot", "·": r"\cdot", "∘": r"\circ", "≤": r"\leq",
    "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "≡": r"\equiv", "∼": r"\sim", "≅": r"\cong",
    "∝": r"\propto", "→": r"\to", "←": r"\leftarrow", "↦": r"\mapsto", "⇒": r"\Rightarrow",
    "⇔": r"\Leftrightarrow", "⟹": r"\implies", "∈": r"\in", "∉": r"\notin", "∋": r"\ni",
    "⊂": r"\subset", "⊆": r"\subseteq", "⊃": r"\supset", "⊇": r"\supseteq", "∪": r"\cup",
    "∩": r"\cap", "∅": r"\emptyset", "∀": r"\forall", "∃": r"\exists", "¬": r"\neg",
    "∧": r"\wedge", "∨": r"\vee", "⊕": r"\oplus", "⊗": r"\otimes", "…": r"\ldots",
    "⋯": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots", "′": "'", "″": "''", "⋆": r"\star",
    "∗": "*", "−": "-", "∣": r"\mid", "‖": r"\|", "⟨": r"\langle", "⟩": r"\rangle",
    "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "ℝ": r"\mathbb{R}",
    "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "ℚ": r"\mathbb{Q}", "ℂ": r"\mathbb{C}",
    "ℓ": r"\ell", "ℏ": r"\hbar", "√": r"\surd", "∠": r"\angle", "°": r"^\circ",
    "\u2061": "", "\u2062": "", "\u2063": ",", "\u2064": "+", "\u00a0": " ",
}
# Math italic letters (U+1D44E...) that MathJax CHTML prints; fold them to ASCII.
_MATH_ITALIC = {chr(0x1D434 + i): chr(ord("A") + i) for i in range(26)}
_MATH_ITALIC.update({chr(0x1D44E + i): chr(ord("a") + i) for i in range(26)})
_MATH_ITALIC["\u210e"] = "h"

# <mover> accents -> TeX accent commands.
_ACCENTS = {"→": r"\vec", "~": r"\tilde", "˜": r"\tilde", "^": r"\hat", "ˆ": r"\hat",
            "˙": r"\dot", "¨": r"\ddot", "¯": r"\bar", "‾": r"\overline", "⏞": r"\overbrace",
            "⏟": r"\underbrace", "_": r"\underline"}
_BIG_OPERATORS = {r"\sum", r"\prod", r"\int", r"\oint", r"\iint", r"\bigcup", r"\bigcap",
                  "lim", r"\lim", "max", "min", "sup", "inf"}
_TEX_ENCODINGS = ("application/x-tex", "tex", "latex", "application/x-latex", "text/x-tex")


def local_name(elem: Any) -> str:
  """Tag name without namespace or `m:` prefix, lower-cased ('' for comments)."""
  tag = elem.tag
  if not isinstance(tag, str):
    return ""
  return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _symbol(text: str) -> str:
  out = []
  for ch in text:
    ch = _MATH_ITALIC.get(ch, ch)
    out.append(_SYMBOLS.get(ch, ch))
  return " ".join(p for p in (s.strip() for s in out) if p) if any(
      c in _SYMBOLS for c in text) else "".join(out).strip()


def tex_annotation(math_elem: Any) -> str | None:
  """The TeX source a <math> element carries (annotation or alttext), if any."""
  for node in math_elem.iter():
    if local_name(node) == "annotation":
      if (node.get("encoding") or "").lower() in _TEX_ENCODINGS and (node.text or "").strip():
        return node.text.strip()
  alt = (math_elem.get("alttext") or "").strip()
  return alt or None


def _children(elem: Any) -> list[Any]:
  return [c for c in elem if local_name(c) and local_name(c) not in ("annotation",
                                                                   "annotation-xml")]


def _join(parts: list[str]) -> str:
  return " ".join(p for p in parts if p)


def _group(tex: str) -> str:
  return "{" + tex + "}"


def convert(elem: Any) -> str:
  """Translates one presentation-MathML element (and its subtree) to TeX."""
  name = local_name(elem)
  kids = _children(elem)
  text = (elem.text or "").strip()
  if name == "mi":
    sym = _symbol(text)
    if len(text) > 1 and sym == text and elem.get("mathvariant") != "italic":
      return r"\mathrm{" + text + "}" if not text.isdigit() else text
    if elem.get("mathvariant") == "bold":
      return r"\mathbf{" + sym + "}"
    if elem.get("mathvariant") == "double-struck" and len(text) == 1 and text.isalpha():
      return r"\mathbb{" + text + "}"
    return sym
  if name in ("mn", "ms"):
    return _symbol(text)
  if name == "mo":
    sym = _symbol(text)
    if elem.get("fence") == "true" or elem.get("stretchy") == "true":
      if text in "([{|‖⟨⌊⌈" and text:
        return r"\left" + (r"\{" if text == "{" else sym)
      if text in ")]}|‖⟩⌋⌉" and text:
        return r"\right" + (r"\}" if text == "}" else sym)
    return {"{": r"\{", "}": r"\}"}.get(sym, sym)
  if name == "mtext":
    return r"\text{" + text + "}" if text else ""
  if name == "mspace":
    return ""
  if name in ("mphantom", "none", "mprescripts", "maligngroup", "malignmark"):
    return ""
  if name == "semantics":
    return convert(kids[0]) if kids else ""
  if name == "mfrac":
    if len(kids) != 2:
      return _join([convert(k) for k in kids])
    num, den = convert(kids[0]), convert(kids[1])
    if elem.get("linethickness") in ("0", "0px", "0em"):
      return r"\binom" + _group(num) + _group(den)
    return r"\frac" + _group(num) + _group(den)
  if name == "msqrt":
    return r"\sqrt" + _group(_join([convert(k) for k in kids]))
  if name == "mroot" and len(kids) == 2:
    return r"\sqrt[" + convert(kids[1]) + "]" + _group(convert(kids[0]))
  if name in ("msub", "msup", "msubsup", "munder", "mover", "munderover") and kids:
    return _scripts(name, elem, [convert(k) for k in kids], kids)
  if name == "mfenced":
    open_, close = elem.get("open", "("), elem.get("close", ")")
    sep = (elem.get("separators", ",") or ",")[0]
    return r"\left" + open_ + f"{sep} ".join(convert(k) for k in kids) + r"\right" + close
  if name == "menclose":
    inner = _join([convert(k) for k in kids])
    notation = elem.get("notation", "")
    if "top" in notation:
      return r"\overline" + _group(inner)
    if "bottom" in notation:
      return r"\underline" + _group(inner)
    if "box" in notation or "roundedbox" in notation:
      return r"\boxed" + _group(inner)
    return inner
  if name == "mtable":
    return _table(elem)
  if name == "mlabeledtr":
    # The first cell is the equation label ("(1)"), which MathJax puts first; TeX puts it last.
    cells = [convert(k) for k in kids]
    return _join(cells[1:] + cells[:1])
  if name in ("mtr", "mtd", "mrow", "math", "mstyle", "mpadded", "merror", "maction",
              "mjx-assistive-mml"):
    return _join([convert(k) for k in kids] if kids else [_symbol(text)])
  # Unknown element: keep its text so nothing silently disappears.
  return _join([_symbol(text)] + [convert(k) for k in kids])


def _scripts(name: str, elem: Any, parts: list[str], kids: list[Any]) -> str:
  base = parts[0]
  base_g = base if len(base) == 1 or base.startswith("\\") and " " not in base else _group(base)
  if name == "msub" and len(parts) == 2:
    return base_g + "_" + _group(parts[1])
  if name == "msup" and len(parts) == 2:
    return base_g + "^" + _group(parts[1])
  if name == "msubsup" and len(parts) == 3:
    return base_g + "_" + _group(parts[1]) + "^" + _group(parts[2])
  if name == "mover" and len(parts) == 2:
    accent = (kids[1].text or "").strip()
    if local_name(kids[1]) == "mo" and accent in _ACCENTS:
      return _ACCENTS[accent] + _group(base)
    if base in _BIG_OPERATORS:
      return base + "^" + _group(parts[1])
    return r"\overset" + _group(parts[1]) + _group(base)
  if name == "munder" and len(parts) == 2:
    accent = (kids[1].text or "").strip()
    if local_name(kids[1]) == "mo" and accent in ("⏟", "_", "‾"):
      return (r"\underbrace" if accent == "⏟" else r"\underline") + _group(base)
    if base in _BIG_OPERATORS or base.startswith(r"\mathrm{lim"):
      return base + "_" + _group(parts[1])
    return r"\underset" + _group(parts[1]) + _group(base)
  if name == "munderover" and len(parts) == 3:
    return base + "_" + _group(parts[1]) + "^" + _group(parts[2])
  return _join(parts)


def _table(elem: Any) -> str:
  rows = []
  for row in _children(elem):
    if local_name(row) == "mlabeledtr":
      rows.append(convert(row))
      continue
    cells = [convert(c) for c in _children(row)] if local_name(row) == "mtr" else [convert(row)]
    rows.append(" & ".join(cells))
  if len(rows) == 1 and "&" not in rows[0]:
    return rows[0]
  env = "aligned" if elem.get("columnalign") or elem.get("displaystyle") else "matrix"
  return r"\begin{" + env + "}" + r" \\ ".join(rows) + r"\end{" + env + "}"


def mathml_to_latex(math_elem: Any) -> str:
  """TeX for a <math> element: its own TeX annotation if present, else the translation."""
  tex = tex_annotation(math_elem)
  if tex:
    return tex
  return " ".join(convert(math_elem).split())


def mathjax_chtml_text(container: Any) -> str:
  """Best-effort TeX for a MathJax v3 CHTML container that has no assistive MathML.

  CHTML is layout markup (`mjx-c` glyph boxes), not semantics; we recover fractions and
  the glyph sequence, which keeps the symbols searchable even when the structure is lost.
  """
  def walk(node: Any) -> str:
    name = local_name(node)
    if name == "mjx-c":
      return _symbol(node.text or "")
    kids = [k for k in node if local_name(k)]
    if name == "mjx-frac":
      num = next((k for k in node.iter() if local_name(k) == "mjx-num"), None)
      den = next((k for k in node.iter() if local_name(k) == "mjx-den"), None)
      if num is not None and den is not None:
        return r"\frac" + _group(walk(num)) + _group(walk(den))
    if name == "mjx-script":
      return "_" + _group(_join([walk(k) for k in kids]))
    return _join([walk(k) for k in kids])
  return " ".join(walk(container).split())
