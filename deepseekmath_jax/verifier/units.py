"""Units of measure in answers: recognition, dimensions and exact conversion factors.

The official evaluation deletes a trailing `\\text{...}` unit and compares the bare numbers, so
`25 m` equals 25 km (../shared/reference/paper_spec.md §5.5 step 4). Here a recognized unit keeps
its dimension and an exact factor to a base unit (metre, gram, second, dollar, degree, cubic
metre for volumes), so the same quantity in another unit can be accepted and a unit that changes
the quantity is caught. Rates (`km/h`, `m/s^2`, `mph`, `miles per hour`) are one unit whose
dimension and factor are the quotient of their parts' (60 km/h = 50/3 m/s). Words that are not
units ("5 apples", "12 ways") are count nouns: they are stripped and carry no meaning. A
hand-written table is enough here; pint and similar libraries would add a dependency for the
couple of dozen units that grade-school and competition answers use.
"""

from __future__ import annotations

import re
from fractions import Fraction

# alias -> (canonical name, dimension, factor to the dimension's base unit)
_LENGTH = {"mm": Fraction(1, 1000), "cm": Fraction(1, 100), "m": Fraction(1), "km": Fraction(1000),
           "in": Fraction(127, 5000), "ft": Fraction(381, 1250), "yd": Fraction(1143, 1250),
           "mi": Fraction(201168, 125)}
_ALIASES = {
    "millimeter": "mm", "millimetre": "mm", "mm": "mm", "centimeter": "cm", "centimetre": "cm",
    "cm": "cm", "meter": "m", "metre": "m", "m": "m", "kilometer": "km", "kilometre": "km",
    "km": "km", "inch": "in", "inches": "in", "in": "in", "foot": "ft", "feet": "ft", "ft": "ft",
    "yard": "yd", "yd": "yd", "mile": "mi", "mi": "mi",
    "milligram": "mg", "mg": "mg", "gram": "g", "g": "g", "kilogram": "kg", "kg": "kg",
    "pound": "lb", "lb": "lb", "lbs": "lb", "ounce": "oz", "oz": "oz",
    "second": "s", "sec": "s", "s": "s", "minute": "min", "min": "min", "hour": "h", "hr": "h",
    "h": "h", "day": "day", "week": "week", "month": "month", "year": "year", "yr": "year",
    "dollar": "dollar", "usd": "dollar", "cent": "cent", "degree": "degree", "deg": "degree",
    "radian": "rad", "rad": "rad",
    "liter": "L", "litre": "L", "l": "L", "milliliter": "mL", "millilitre": "mL", "ml": "mL",
    "gallon": "gal", "gal": "gal",
}
_UNITS = {
    **{name: ("length", factor) for name, factor in _LENGTH.items()},
    "mg": ("mass", Fraction(1, 1000)), "g": ("mass", Fraction(1)), "kg": ("mass", Fraction(1000)),
    "lb": ("mass", Fraction(45359237, 100000)), "oz": ("mass", Fraction(45359237, 1600000)),
    "s": ("time", Fraction(1)), "min": ("time", Fraction(60)), "h": ("time", Fraction(3600)),
    "day": ("time", Fraction(86400)), "week": ("time", Fraction(604800)),
    # Months and years have no fixed length in seconds: each is its own dimension.
    "month": ("month", Fraction(1)), "year": ("year", Fraction(1)),
    "dollar": ("money", Fraction(1)), "cent": ("money", Fraction(1, 100)),
    "degree": ("angle", Fraction(1)),
    # A radian is 180/pi degrees, not a rational factor: angles in the two units are compared by
    # `equivalence` through their values (60 degrees vs \pi/3), never by a unit factor.
    "rad": ("angle in radians", Fraction(1)),
    "L": ("length^3", Fraction(1, 1000)), "mL": ("length^3", Fraction(1, 1000000)),
    "gal": ("length^3", Fraction(3785411784, 10**12)),
}
# Single letters are units only inside \text{...}: a bare "5 m" may be a product.
_SINGLE_LETTER = {"m", "g", "s", "h", "l"}

_RATE_TAIL = r"(?:\s*/\s*[A-Za-z]{1,12}(?:\s*\^\s*\{?\s*[23]\s*\}?)?)?"
_BRACED_UNIT_RE = re.compile(
    r"^(?P<value>.*?)\s*(?P<cmd>\\(?:text|mbox|textrm|textnormal|mathrm))?\s*\{\s*"
    r"(?P<word>[A-Za-z][A-Za-z .]*?" + _RATE_TAIL + r")\s*\}\s*(?P<pow>\^\s*\{?\s*[23]\s*\}?)?$")
_PLAIN_UNIT_RE = re.compile(
    r"^(?P<value>.*?[\d}.)])\s+(?P<word>[A-Za-z]{2,}\.?(?: [A-Za-z]{2,}\.?){0,2}|[mgshL]|"
    r"[A-Za-z]{1,6}/[A-Za-z]{1,6}(?:\^\{?[23]\}?)?)\s*(?P<pow>\^\s*\{?\s*[23]\s*\}?)?$")
# `\\text{km}/\\text{h}`: a rate written as two text groups.
_SPLIT_RATE_RE = re.compile(r"\}\s*/\s*\\(?:text|mbox|textrm|mathrm)\s*\{\s*")
_ATTACHED_UNIT_RE = re.compile(
    r"^(?P<value>[-+]?\d[\d.]*)(?P<word>[A-Za-z]{2,})(?P<pow>\^\s*\{?\s*[23]\s*\}?)?$")


# Rates: `km/h`, `km/hr`, `m/s^2`, `miles per hour`, `mph`. A rate is one canonical unit
# "numerator/denominator" whose dimension is "length/time" (or "length/time^2", "money/time",
# ...), so 60 km/h and 50/3 m/s are one quantity, converted exactly like any other unit.
_RATE_ALIASES = {"mph": "mi/h", "kph": "km/h", "kmph": "km/h", "kmh": "km/h"}
_RATE_SPLIT_RE = re.compile(r"\s*/\s*|\s+per\s+|\s+an?\s+(?=hour|second|minute|day|week|year)")
_RATE_PART_RE = re.compile(
    r"^(?P<word>[A-Za-z][A-Za-z .]*?)\s*(?:\^\s*\{?\s*(?P<pow>[23])\s*\}?)?$")


def _canonical_rate(word: str, power: int) -> str | None:
  """`km/h`, `m/s^2`, `miles per hour` -> 'km/h', 'm/s^2', 'mi/h'; a power written after the
  whole unit (`\\text{m/s}^2`) belongs to its denominator. None when either part is unknown."""
  parts = _RATE_SPLIT_RE.split(word.strip(), maxsplit=1)
  if len(parts) != 2:
    return None
  names = []
  for index, part in enumerate(parts):
    match = _RATE_PART_RE.match(part.strip())
    if match is None:
      return None
    part_power = int(match.group("pow") or 1)
    if index == 1 and power > 1:
      part_power = power
    name = _canonical(match.group("word"), 1)
    if name is None or "/" in name:
      return None
    names.append(name if part_power == 1 else f"{name}^{part_power}")
  return "/".join(names)


def _canonical(word: str, power: int) -> str | None:
  """Maps a unit phrase to a canonical unit name like 'cm^2' or 'km/h', or None when unknown."""
  word = word.strip().rstrip(".").lower()
  if word in _RATE_ALIASES:
    return _RATE_ALIASES[word] if power == 1 else None
  if "/" in word or " per " in word or re.search(r"\s(?:an?)\s", word):
    return _canonical_rate(word, power)
  for prefix, exponent in (("square ", 2), ("sq ", 2), ("sq. ", 2), ("cubic ", 3), ("cu ", 3)):
    if word.startswith(prefix):
      word, power = word[len(prefix):].strip(), exponent
  if word.endswith(" squared"):
    word, power = word[:-len(" squared")], 2
  name = _ALIASES.get(word)
  if name is None and word.endswith("s") and len(word) > 2:
    name = _ALIASES.get(word[:-1])
  if name is None and word.endswith("es") and len(word) > 3:
    name = _ALIASES.get(word[:-2])
  if name is None:
    return None
  if power > 1:
    if name not in _LENGTH:
      return None
    return f"{name}^{power}"
  return name


def _power(text: str | None) -> int:
  return int(re.sub(r"\D", "", text)) if text else 1


def split_trailing_unit(text: str) -> tuple[str, str]:
  """Splits `value unit` into (value, canonical unit); unit is "" for none or a count noun."""
  text = text.strip()
  unit = ""
  if "\\$" in text:
    text = text.replace("\\$", "").strip()
    unit = "dollar"
  if text.endswith("\u00b0"):
    return text[:-1].strip(), "degree"
  if "/" in text and "}" in text:
    text = _SPLIT_RATE_RE.sub("/", text)
  match = _BRACED_UNIT_RE.match(text)
  if match and match.group("value").strip():
    word = match.group("word")
    value = match.group("value").strip()
    if match.group("cmd") is None:
      # A bare {cm} (from \mathrm{cm}) is a unit only when it is a known one after a number.
      name = _canonical(word, _power(match.group("pow")))
      if name is not None and len(word) >= 2 and not value.endswith(("}", "^", "_")):
        return value, name
    else:
      name = _canonical(word, _power(match.group("pow")))
      if name is not None and (len(word.strip()) >= 2 or word.strip().lower() in _SINGLE_LETTER):
        return value, name
      return value, unit  # A count noun such as \text{ ways}.
  match = _PLAIN_UNIT_RE.match(text) or _ATTACHED_UNIT_RE.match(text)
  if match:
    word = match.group("word")
    name = _canonical(word, _power(match.group("pow")))
    value = match.group("value").strip()
    if name is not None and (len(word) >= 2 or re.fullmatch(r"[-+]?[\d.]+", value)):
      return value, name
    if len(word) >= 3 and "/" not in word and re.fullmatch(
        r"[-+]?[\d.,/]+|\\frac\{\d+\}\{\d+\}", value):
      return value, unit  # "5 apples": a count noun.
  return text, unit


_QUANTITY_PART_RE = re.compile(r"\s*(?:,|\band\b)?\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\.?\s*")
_COMPOUND_RE = re.compile(r"(?:\s*(?:,|\band\b)?\s*\d+(?:\.\d+)?\s*[A-Za-z]+\.?\s*){2,4}")


def compound_quantity(text: str) -> tuple[Fraction, str] | None:
  """`1 hour 30 minutes`, `2 ft 6 in`, `3 m and 20 cm`: one quantity written in several units of
  one dimension, largest first; returns (exact value, unit) in the last (smallest) unit, or None.
  """
  if len(text) > 120 or not _COMPOUND_RE.fullmatch(text):
    return None
  parts = []
  for number, word in _QUANTITY_PART_RE.findall(text):
    unit = _canonical(word, 1)
    if unit is None or (len(word) < 2 and word.lower() not in _SINGLE_LETTER):
      return None
    parts.append((Fraction(number), unit))
  try:
    dimensions = {dimension(unit) for _, unit in parts}
  except KeyError:
    return None
  factors = [to_base(Fraction(1), unit) for _, unit in parts]
  if len(dimensions) != 1 or any(a <= b for a, b in zip(factors, factors[1:])):
    return None
  last_factor = factors[-1]
  total = sum((value * factor / last_factor for (value, _), factor in zip(parts, factors)),
              Fraction(0))
  return total, parts[-1][1]


def dimension(unit: str) -> str:
  """The dimension of a canonical unit: 'length', 'length^2', 'money', 'length/time', ..."""
  if "/" in unit:
    numerator, _, denominator = unit.partition("/")
    return f"{dimension(numerator)}/{dimension(denominator)}"
  name, _, power = unit.partition("^")
  dim = _UNITS[name][0]
  return f"{dim}^{power}" if power else dim


def to_base(value: Fraction, unit: str) -> Fraction:
  """Converts an exact value in `unit` to the dimension's base unit."""
  if "/" in unit:
    numerator, _, denominator = unit.partition("/")
    return to_base(value, numerator) / to_base(Fraction(1), denominator)
  name, _, power = unit.partition("^")
  factor = _UNITS[name][1]
  return value * factor ** (int(power) if power else 1)


# Unit words as they appear in prose ("How many meters..."); short abbreviations such as "in",
# "min" or "m" are ordinary words or letters in questions and are left out.
_PROSE_UNITS = sorted((w for w in _ALIASES if len(w) >= 3 and w not in ("min", "sec", "deg", "usd")),
                      key=len, reverse=True)
_MENTION_RE = re.compile(r"\b(?:square |cubic )?(?:" + "|".join(_PROSE_UNITS) + r")(?:e?s)?\b",
                         re.IGNORECASE)
_TEXT_UNIT_RE = re.compile(r"\\(?:text|mbox|mathrm)\{\s*([A-Za-z]+)\s*\}")


_MENTIONED_RATE_RE = re.compile(
    r"\b(?:mph|kph|km/h|km/hr|m/s|ft/s|mi/h|[a-z]+ per (?:hour|second|minute|day))\b",
    re.IGNORECASE)


def mentioned_units(question: str) -> set[str]:
  """Canonical units named in a question (for 'How many meters...' style questions)."""
  found = set()
  if "/" in question or "per" in question or "ph" in question:
    for phrase in _MENTIONED_RATE_RE.findall(question):
      name = _canonical(phrase, 1)
      if name is not None:
        found.add(name)
  for word in _MENTION_RE.findall(question):
    name = _canonical(word, 1)
    if name is not None:
      found.add(name)
  for abbr in _TEXT_UNIT_RE.findall(question):
    name = _canonical(abbr, 1)
    if name is not None:
      found.add(name)
  return found
