r"""Generated grade-school word problems with worked, checked chain-of-thought solutions.

The demo needs math text that a model of a million parameters can learn on one CPU in minutes,
with answers a rule verifier can grade exactly (the RL reward of arXiv:2402.03300 §4.1 is a
rule-based correctness check on GSM8K/MATH-style problems). So: GSM8K-like wording over a few
templates (shopping, rates and time, sharing, ages, multi-step totals, linear equations "a
number x ..."), integer answers, and short solutions in one fixed format, one line per step:

  Question: Ada buys 4 pens at $3 each and 2 books at $7 each. How much does she spend?
  Solution: Pens: 4 * 3 = 12. Books: 2 * 7 = 14. Total: 12 + 14 = 26. The answer is \boxed{26}.

Equations are written the way they are solved: `3x + 7 = 34. 3x = 34 - 7 = 27. x = 27 / 3 = 9.`
Every solution ends with `The answer is \boxed{N}.`, the form the verifier reads first.

Every generated problem is checked before it is returned (`check`): each step's arithmetic is
recomputed exactly with sympy integers (no string is ever evaluated), each step may use only
numbers stated in the question, earlier results and the template's declared constants (2 for
"twice"), every value is a positive integer, and an equation's answer is substituted back into
the equation with sympy. A template bug raises instead of producing a wrong solution.

Problems are a deterministic function of (seed, index, difficulty): `generate(n, seed=...)`
gives the same list on every machine. `Difficulty` sets the number of steps and the number
ranges. Held-out problems come from another seed, with `exclude=` removing any question that
also occurs in a training set.
"""

from __future__ import annotations

import dataclasses
import operator
import random
import re
from typing import Callable, Iterable

import sympy

# name -> (subject pronoun, possessive). Fixed, sorted lists: the output depends on them.
_PEOPLE = {
    "Ada": ("she", "her"), "Ben": ("he", "his"), "Chen": ("he", "his"), "Dara": ("she", "her"),
    "Eli": ("he", "his"), "Fatima": ("she", "her"), "Goro": ("he", "his"),
    "Hana": ("she", "her"), "Ivan": ("he", "his"), "Jade": ("she", "her"),
    "Kofi": ("he", "his"), "Lena": ("she", "her"), "Mateo": ("he", "his"),
    "Nia": ("she", "her"), "Omar": ("he", "his"), "Priya": ("she", "her"),
}
_NAMES = tuple(sorted(_PEOPLE))
_ITEMS = ("apples", "books", "cards", "coins", "cookies", "eggs", "marbles", "pencils", "shells",
          "stamps", "stickers", "toys")
_GOODS = ("pens", "notebooks", "books", "cups", "plates", "shirts", "hats", "bags", "candles",
          "lamps")
_VEHICLES = ("car", "bus", "train", "truck", "cyclist", "boat")
_ANIMALS = (("cows", "sheep", "goats"), ("hens", "ducks", "geese"), ("cats", "dogs", "rabbits"),
            ("horses", "pigs", "chickens"), ("llamas", "alpacas", "donkeys"),
            ("turkeys", "pigeons", "swans"))
_OPS: dict[str, Callable] = {"+": operator.add, "-": operator.sub, "*": operator.mul,
                             "/": operator.truediv}
_NUMBER = re.compile(r"\d+")


@dataclasses.dataclass(frozen=True)
class Difficulty:
  """Knobs of the generator.

  Attributes:
    min_steps: fewest arithmetic steps in a solution.
    max_steps: most arithmetic steps (the multi-step chain template uses any count in range).
    max_number: largest starting count or total stated in a question.
    max_factor: largest multiplier, price, rate or divisor.
  """
  min_steps: int = 1
  max_steps: int = 3
  max_number: int = 60
  max_factor: int = 12

  def __post_init__(self):
    if not 1 <= self.min_steps <= self.max_steps:
      raise ValueError(f"Difficulty needs 1 <= min_steps <= max_steps, got {self}")
    if self.max_number < 20 or self.max_factor < 3:
      raise ValueError(f"Difficulty needs max_number >= 20 and max_factor >= 3, got {self}")


@dataclasses.dataclass(frozen=True)
class Step:
  """One solution line: `{label}: a op b = value.`, or `{label} = a op b = value.` (equations)."""
  label: str
  operands: tuple[int, ...]
  op: str
  value: int
  equation: bool = False

  def arithmetic(self) -> str:
    return " ".join(f"{x} {self.op}" for x in self.operands)[:-2] + f" = {self.value}"

  def render(self) -> str:
    sep = " =" if self.equation else ":"
    return f"{self.label}{sep} {self.arithmetic()}."


@dataclasses.dataclass(frozen=True)
class WordProblem:
  """A generated problem.

  Attributes:
    question: the problem statement.
    solution: worked solution, one sentence per step, ending `The answer is \\boxed{N}.`
    answer: the integer answer N.
    template: which template wrote it (`shopping`, `rate`, `sharing`, `ages`, `totals`,
      `equation`).
    num_steps: arithmetic steps in the solution.
    equations: each step's arithmetic, `a op b = c`.
  """
  question: str
  solution: str
  answer: int
  template: str
  num_steps: int
  equations: tuple[str, ...] = ()

  def as_text(self) -> str:
    """The problem as a math document paragraph."""
    return f"Question: {self.question}\nSolution: {self.solution}"


@dataclasses.dataclass
class _Draft:
  question: str
  steps: list[Step]
  preamble: str = ""             # a line before the steps (an equation's statement)
  constants: tuple[int, ...] = ()  # numbers the wording implies ("twice" = 2)
  equation: tuple[int, int, int, str] | None = None  # (a, b, c, form) of a*x+b=c and kin


def _step(label: str, op: str, *operands: int, equation: bool = False) -> Step:
  value = operands[0]
  for x in operands[1:]:
    value = _OPS[op](value, x)
  if op == "/":
    if value != int(value):
      raise AssertionError(f"inexact division in {operands}")
  return Step(label, tuple(operands), op, int(value), equation)


def _person(rng: random.Random) -> tuple[str, str, str]:
  name = rng.choice(_NAMES)
  return (name,) + _PEOPLE[name]


def _two_people(rng: random.Random) -> tuple[str, str]:
  a, b = rng.sample(_NAMES, 2)
  return a, b


# ----------------------------------------------------------------------------------------------
# Templates: (rng, difficulty, steps) -> _Draft. `steps` is within the template's range.
# ----------------------------------------------------------------------------------------------


def _shopping(rng: random.Random, d: Difficulty, steps: int) -> _Draft:
  name, she, _ = _person(rng)
  g1, g2 = rng.sample(_GOODS, 2)
  n1, p1 = rng.randint(2, min(9, d.max_factor)), rng.randint(2, d.max_factor)
  if steps == 2:  # one kind of item, then change
    cost = n1 * p1
    bill = rng.choice([b for b in (20, 50, 100, 200) if b > cost] or [cost + 10])
    q = rng.choice([
        f"{name} buys {n1} {g1} at ${p1} each and pays with a ${bill} bill. How much change "
        f"does {she} get?",
        f"Each of the {g1} costs ${p1}. {name} buys {n1} of them and pays with ${bill}. How "
        f"much money does {she} get back?"])
    return _Draft(q, [_step(g1.capitalize(), "*", n1, p1), _step("Change", "-", bill, cost)])
  n2, p2 = rng.randint(2, min(9, d.max_factor)), rng.randint(2, d.max_factor)
  q = rng.choice([
      f"{name} buys {n1} {g1} at ${p1} each and {n2} {g2} at ${p2} each.",
      f"At the market, {g1} cost ${p1} each and {g2} cost ${p2} each. {name} buys {n1} {g1} "
      f"and {n2} {g2}."])
  s = [_step(g1.capitalize(), "*", n1, p1), _step(g2.capitalize(), "*", n2, p2)]
  s.append(_step("Total", "+", s[0].value, s[1].value))
  if steps == 3:
    return _Draft(q + rng.choice([f" How much does {she} spend?",
                                  f" How many dollars does {she} pay in total?"]), s)
  bill = min(b for b in (50, 100, 200, 500) if b > s[2].value)
  s.append(_step("Change", "-", bill, s[2].value))
  return _Draft(q + f" {she.capitalize()} pays with a ${bill} bill. How much change does {she} "
                    f"get?", s)


def _rate(rng: random.Random, d: Difficulty, steps: int) -> _Draft:
  if steps == 3:
    vehicle, (verb, base) = rng.choice(_VEHICLES), rng.choice((("travels", "travel"),
                                                               ("moves", "move"), ("goes", "go")))
    s1, s2 = rng.randint(2, d.max_factor) * 5, rng.randint(2, d.max_factor) * 5
    t1, t2 = rng.randint(2, 6), rng.randint(2, 6)
    q = (f"A {vehicle} {verb} at {s1} km per hour for {t1} hours and then at {s2} km per hour "
         f"for {t2} hours. How many km does it {base} in total?")
    s = [_step("First", "*", s1, t1), _step("Then", "*", s2, t2)]
    return _Draft(q, s + [_step("Total", "+", s[0].value, s[1].value)])
  if rng.random() < 0.5:
    name, she, _ = _person(rng)
    rate, days = rng.randint(2, d.max_factor), rng.randint(2, 9)
    done = rng.randint(1, d.max_number)
    total = done + rate * days
    q = rng.choice([
        f"{name} reads {rate} pages a day. {she.capitalize()} has read {done} pages of a "
        f"{total}-page book. How many more days does {she} need to finish it?",
        f"A book has {total} pages. {name} has already read {done} pages and reads {rate} "
        f"pages each day. How many days will it take {name} to finish the book?"])
    return _Draft(q, [_step("Left", "-", total, done), _step("Days", "/", total - done, rate)])
  item = rng.choice(_ITEMS)
  rate, hours, days = rng.randint(2, d.max_factor), rng.randint(2, 8), rng.randint(2, 6)
  q = rng.choice([
      f"A machine makes {rate} {item} per hour. It runs {hours} hours a day. How many {item} "
      f"does it make in {days} days?",
      f"A worker packs {rate} {item} every hour and works {hours} hours each day. How many "
      f"{item} does the worker pack in {days} days?"])
  return _Draft(q, [_step("Daily", "*", rate, hours), _step("Total", "*", rate * hours, days)])


def _sharing(rng: random.Random, d: Difficulty, steps: int) -> _Draft:
  del steps  # always 2
  item = rng.choice(_ITEMS)
  if rng.random() < 0.5:
    name, she, _ = _person(rng)
    friends, each = rng.randint(2, min(9, d.max_factor)), rng.randint(2, d.max_factor)
    given = rng.randint(1, d.max_number // 2)
    total = friends * each + given
    q = rng.choice([
        f"{name} has {total} {item}. {she.capitalize()} keeps {given} and shares the rest "
        f"equally among {friends} friends. How many {item} does each friend get?",
        f"There are {total} {item} in a box. {name} takes {given} of them, and the rest are "
        f"shared equally by {friends} children. How many {item} does each child get?"])
    return _Draft(q, [_step("Rest", "-", total, given), _step("Each", "/", total - given,
                                                              friends)])
  size, groups, per = rng.randint(2, 8), rng.randint(2, 9), rng.randint(2, d.max_factor)
  students = size * groups
  q = rng.choice([
      f"{students} students are split into groups of {size}. Each group needs {per} {item}. "
      f"How many {item} are needed?",
      f"A teacher puts {students} students in groups of {size} and gives every group {per} "
      f"{item}. How many {item} does the teacher give out?"])
  return _Draft(q, [_step("Groups", "/", students, size), _step("Needed", "*", groups, per)])


def _ages(rng: random.Random, d: Difficulty, steps: int) -> _Draft:
  del steps  # always 2
  a, b = _two_people(rng)
  if rng.random() < 0.5:
    k, young, years = rng.randint(2, 4), rng.randint(2, 12), rng.randint(2, 15)
    word = {2: "twice", 3: "three times", 4: "four times"}[k]
    q = rng.choice([
        f"{a} is {word} as old as {b}. {b} is {young} years old. How old will {a} be in "
        f"{years} years?",
        f"{b} is {young} years old, and {a} is {word} as old as {b}. How old will {a} be "
        f"{years} years from now?"])
    return _Draft(q, [_step("Now", "*", k, young), _step("Later", "+", k * young, years)],
                  constants=(k,))
  gap, young = rng.randint(1, 12), rng.randint(2, d.max_number // 2)
  total = 2 * young + gap
  q = rng.choice([
      f"{a} is {gap} years older than {b}. The sum of their ages is {total}. How old is {b}?",
      f"The ages of {a} and {b} add up to {total} years, and {a} is {gap} years older. How "
      f"old is {b}?"])
  return _Draft(q, [_step("Twice", "-", total, gap), _step("Age", "/", total - gap, 2)],
                constants=(2,))


_CHAIN = (  # (op, operand or None for the drawn number, wording)
    ("+", None, "{she} buys {n} more"),
    ("+", None, "{she} finds {n} more"),
    ("-", None, "{she} gives away {n}"),
    ("-", None, "{she} loses {n}"),
    ("*", 2, "{she} doubles them"),
    ("*", 3, "{she} triples them"),
)
_CHAIN_LABELS = {"buys": "Buys", "finds": "Finds", "gives": "Gives", "loses": "Loses",
                 "doubles": "Doubles", "triples": "Triples"}


def _totals(rng: random.Random, d: Difficulty, steps: int) -> _Draft:
  if steps == 3 and rng.random() < 0.5:
    first, second, third = rng.choice(_ANIMALS)
    n, k, fewer = rng.randint(3, d.max_number // 2), rng.randint(2, 4), rng.randint(1, 15)
    fewer = min(fewer, k * n - 1)
    word = {2: "twice", 3: "three times", 4: "four times"}[k]
    q = (f"A farm has {n} {first}. It has {word} as many {second} as {first}, and {fewer} "
         f"fewer {third} than {second}. How many animals are on the farm?")
    s = [_step(second.capitalize(), "*", k, n), _step(third.capitalize(), "-", k * n, fewer)]
    s.append(_step("Total", "+", n, s[0].value, s[1].value))
    return _Draft(q, s, constants=(k,))
  name, she, _ = _person(rng)
  item = rng.choice(_ITEMS)
  value = rng.randint(5, d.max_number)
  start, clauses, s, constants = value, [], [], []
  for _ in range(steps):
    choices = [c for c in _CHAIN if not (c[0] == "*" and value * c[1] > 4 * d.max_number)
               and not (c[0] == "-" and value < 3)]
    op, fixed, wording = rng.choice(choices)
    n = fixed if fixed is not None else (rng.randint(1, value - 1) if op == "-" else
                                         rng.randint(2, d.max_number // 2))
    if fixed is not None:
      constants.append(fixed)
    clauses.append(wording.format(she=she, n=n))
    verb = wording.split()[1]
    s.append(_step(_CHAIN_LABELS[verb], op, value, n))
    value = s[-1].value
  story = ", then ".join(clauses)
  q = (f"{name} has {start} {item}. {story[0].upper()}{story[1:]}. How many {item} does {name} "
       f"have now?")
  return _Draft(q, s, constants=tuple(constants))


def _equation(rng: random.Random, d: Difficulty, steps: int) -> _Draft:
  del steps  # always 2
  x, a = rng.randint(2, d.max_number // 2), rng.randint(2, min(9, d.max_factor))
  b = rng.randint(1, d.max_number // 2)
  if rng.random() < 0.6:  # a*x + b = c
    c = a * x + b
    q = rng.choice([
        f"A number x is multiplied by {a} and then {b} is added. The result is {c}. What is x?",
        f"If {a}x + {b} = {c}, what is x?",
        f"{a} times a number x, plus {b}, equals {c}. Find x."])
    pre = f"{a}x + {b} = {c}."
    s = [_step(f"{a}x", "-", c, b, equation=True), _step("x", "/", c - b, a, equation=True)]
    return _Draft(q, s, preamble=pre, equation=(a, b, c, "mul_add"))
  c = x + b  # x / a + b = c with x / a the drawn integer, so x is a multiple of a.
  q = rng.choice([
      f"A number x is divided by {a} and then {b} is added. The result is {c}. What is x?",
      f"If x / {a} + {b} = {c}, what is x?"])
  pre = f"x / {a} + {b} = {c}."
  s = [_step(f"x / {a}", "-", c, b, equation=True), _step("x", "*", c - b, a, equation=True)]
  return _Draft(q, s, preamble=pre, equation=(a, b, c, "div_add"))


# name -> (function, fewest steps, most steps)
TEMPLATES: dict[str, tuple[Callable[[random.Random, Difficulty, int], _Draft], int, int]] = {
    "shopping": (_shopping, 2, 4),
    "rate": (_rate, 2, 3),
    "sharing": (_sharing, 2, 2),
    "ages": (_ages, 2, 2),
    "totals": (_totals, 1, 6),
    "equation": (_equation, 2, 2),
}


# ----------------------------------------------------------------------------------------------
# Checking
# ----------------------------------------------------------------------------------------------


def check(draft: _Draft, template: str) -> None:
  """Raises AssertionError unless every step of the draft is exact and grounded (see module)."""
  known = {int(n) for n in _NUMBER.findall(draft.question)} | set(draft.constants)
  for step in draft.steps:
    for x in step.operands:
      if x not in known:
        raise AssertionError(f"{template}: operand {x} is neither in the question nor an earlier "
                             f"result: {draft.question!r}")
    exact = sympy.Integer(step.operands[0])
    for x in step.operands[1:]:
      exact = _OPS[step.op](exact, sympy.Integer(x))
    if not (exact.is_Integer and exact == step.value and step.value > 0):
      raise AssertionError(f"{template}: step {step.render()!r} is wrong (exact {exact})")
    known.add(step.value)
  if draft.equation is not None:
    a, b, c, form = draft.equation
    x = sympy.Symbol("x")
    lhs = a * x + b if form == "mul_add" else x / a + b
    if sympy.Eq(lhs, c).subs(x, draft.steps[-1].value) is not sympy.true:
      raise AssertionError(f"{template}: x = {draft.steps[-1].value} does not solve {lhs} = {c}")


def _render(draft: _Draft) -> str:
  lines = ([draft.preamble] if draft.preamble else []) + [s.render() for s in draft.steps]
  return " ".join(lines) + f" The answer is \\boxed{{{draft.steps[-1].value}}}."


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def problem(seed: int, index: int, difficulty: Difficulty = Difficulty(),
            templates: Iterable[str] | None = None) -> WordProblem:
  """Problem number `index` of the stream `seed` (a pure function of its arguments)."""
  rng = random.Random(f"word_problems/{seed}/{index}")
  names = sorted(templates) if templates is not None else sorted(TEMPLATES)
  usable = [n for n in names if n in TEMPLATES and TEMPLATES[n][1] <= difficulty.max_steps
            and TEMPLATES[n][2] >= difficulty.min_steps]
  if not usable:
    raise ValueError(f"no template among {names} fits {difficulty}")
  name = rng.choice(usable)
  fn, lo, hi = TEMPLATES[name]
  steps = rng.randint(max(lo, difficulty.min_steps), min(hi, difficulty.max_steps))
  draft = fn(rng, difficulty, steps)
  check(draft, name)
  return WordProblem(question=draft.question, solution=_render(draft),
                     answer=draft.steps[-1].value, template=name, num_steps=len(draft.steps),
                     equations=tuple(step.arithmetic() for step in draft.steps))


def generate(n: int, *, seed: int, difficulty: Difficulty = Difficulty(),
             exclude: Iterable[str] = (), templates: Iterable[str] | None = None
             ) -> list[WordProblem]:
  """`n` distinct problems of stream `seed`, none of whose question is in `exclude`.

  Duplicated questions within the stream are skipped too, so held-out sets have no repeats.
  """
  seen = set(exclude)
  out, index = [], 0
  while len(out) < n:
    if index > 20 * n + 1000:
      raise ValueError(f"only {len(out)} distinct problems after {index} draws; widen the "
                       f"difficulty ranges ({difficulty})")
    p = problem(seed, index, difficulty, templates)
    index += 1
    if p.question not in seen:
      seen.add(p.question)
      out.append(p)
  return out
