r"""Prompt formats for evaluation: the paper's zero-shot chat CoT and few-shot Minerva/GSM8K CoT.

Formats (arXiv:2402.03300 §4.4, §5.4; the official eval's `markup_question()` and prompt classes):

* `zero_shot_cot` (Instruct/RL models, Table 5): a single chat turn,
  `User: {question}\nPlease reason step by step, and put your final answer within \boxed{}.`
  `\n\nAssistant:`. BOS is the tokenizer's business, not the prompt string's.
* `math_4shot` (Base models, Table 2): Minerva-style, `Problem:\n{q}\n\nSolution:`, four exemplars
  whose solutions end with `Final Answer: The final answer is $X$. I hope it is correct.`;
  generation stops at `\nProblem:`.
* `gsm8k_8shot` (Base models, Table 2): `Q: {q}\nA: ... The answer is N.`, eight exemplars
  separated by two blank lines; generation stops at `\nQ:`.
* `tool` (the "Tool" columns of Table 5, program-of-thought / tool-integrated reasoning): the
  chat turn with the paper's tool instruction, `{question}\nPlease integrate natural language
  reasoning with programs to solve the problem above, and put your final answer within
  \boxed{}.`; the model's ```python blocks run in the sandbox (evaluation/generate.py with a
  `Sandbox`, rl/tool_rollout.py).

The exemplar solutions below are written for this project (the official prompt files are not
copied); each exemplar's problem is quoted verbatim from the benchmark's *training* split, named by
its source (`gsm8k/train.jsonl` line index, MATH `unique_id`), so no test problem leaks into a
prompt. `tests/evaluation_prompts_test.py` checks each exemplar's question against the training file
and each exemplar's final answer against the training reference with the verifier.

`PARAPHRASE_TEMPLATES` are alternative wordings of the zero-shot instruction for the robustness
audit (`audit.paraphrase_perturbation`); the first is the paper's.
"""

from __future__ import annotations

import dataclasses

ZERO_SHOT_COT_SUFFIX = "Please reason step by step, and put your final answer within \\boxed{}."
TOOL_SUFFIX = ("Please integrate natural language reasoning with programs to solve the problem "
               "above, and put your final answer within \\boxed{}.")


@dataclasses.dataclass(frozen=True)
class PromptFormat:
  """A way to turn a question into a prompt string, with the strings that end a completion.

  Attributes:
    name: registry key.
    template: `str.format` template with one `{question}` field (exemplars already inlined).
    stop: stop strings: the completion is cut at the first occurrence of any of them.
  """
  name: str
  template: str
  stop: tuple[str, ...]

  def build(self, question: str) -> str:
    # `replace`, not `format`: exemplars and questions are full of LaTeX braces.
    return self.template.replace("{question}", question.strip())

  def truncate(self, completion: str) -> str:
    """Cuts a completion at the earliest stop string (what a sampler with stop strings does)."""
    cut = len(completion)
    for s in self.stop:
      i = completion.find(s)
      if i != -1:
        cut = min(cut, i)
    return completion[:cut]


def _chat(instruction_template: str) -> str:
  """Single-turn chat prompt of the official `sft` format: `User: {content}\n\nAssistant:`."""
  return f"User: {instruction_template}\n\nAssistant:"


# --- GSM8K 8-shot CoT exemplars (questions verbatim from gsm8k/train.jsonl, by 0-based line). ---
GSM8K_EXEMPLARS: tuple[tuple[str, str, str], ...] = (
    ("gsm8k/train/0",
     "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in "
     "May. How many clips did Natalia sell altogether in April and May?",
     "In May she sold half of 48, which is 48 / 2 = 24 clips. Over the two months she sold "
     "48 + 24 = 72 clips. The answer is 72."),
    ("gsm8k/train/1",
     "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
     "How much did she earn?",
     "An hour has 60 minutes, so Weng earns 12 / 60 = 0.2 dollars per minute. For 50 minutes she "
     "earns 50 * 0.2 = 10 dollars. The answer is 10."),
    ("gsm8k/train/2",
     "Betty is saving money for a new wallet which costs $100. Betty has only half of the money "
     "she needs. Her parents decided to give her $15 for that purpose, and her grandparents twice "
     "as much as her parents. How much more money does Betty need to buy the wallet?",
     "Betty has half of 100, so she has 100 / 2 = 50 dollars. Her grandparents give her "
     "2 * 15 = 30 dollars. Altogether she has 50 + 15 + 30 = 95 dollars, so she still needs "
     "100 - 95 = 5 dollars. The answer is 5."),
    ("gsm8k/train/3",
     "Julie is reading a 120-page book. Yesterday, she was able to read 12 pages and today, she "
     "read twice as many pages as yesterday. If she wants to read half of the remaining pages "
     "tomorrow, how many pages should she read?",
     "Today Julie read 2 * 12 = 24 pages, so she has read 12 + 24 = 36 pages so far. That leaves "
     "120 - 36 = 84 pages. Half of them is 84 / 2 = 42 pages. The answer is 42."),
    ("gsm8k/train/4",
     "James writes a 3-page letter to 2 different friends twice a week.  How many pages does he "
     "write a year?",
     "Each time he writes, James writes 3 * 2 = 6 pages. He does this twice a week, so he writes "
     "6 * 2 = 12 pages a week. A year has 52 weeks, so he writes 12 * 52 = 624 pages. The answer "
     "is 624."),
    ("gsm8k/train/5",
     "Mark has a garden with flowers. He planted plants of three different colors in it. Ten of "
     "them are yellow, and there are 80% more of those in purple. There are only 25% as many green "
     "flowers as there are yellow and purple flowers. How many flowers does Mark have in his "
     "garden?",
     "There are 80% more purple flowers than the 10 yellow ones, that is 10 * 0.8 = 8 more, so "
     "there are 10 + 8 = 18 purple flowers. Yellow and purple together make 10 + 18 = 28 flowers. "
     "The green ones are 25% of that, 28 * 0.25 = 7 flowers. In total Mark has 28 + 7 = 35 "
     "flowers. The answer is 35."),
    ("gsm8k/train/7",
     "Ken created a care package to send to his brother, who was away at boarding school.  Ken "
     "placed a box on a scale, and then he poured into the box enough jelly beans to bring the "
     "weight to 2 pounds.  Then, he added enough brownies to cause the weight to triple.  Next, he "
     "added another 2 pounds of jelly beans.  And finally, he added enough gummy worms to double "
     "the weight once again.  What was the final weight of the box of goodies, in pounds?",
     "The jelly beans bring the box to 2 pounds. Tripling it with brownies gives 2 * 3 = 6 pounds. "
     "Another 2 pounds of jelly beans makes 6 + 2 = 8 pounds. Doubling with gummy worms gives "
     "8 * 2 = 16 pounds. The answer is 16."),
    ("gsm8k/train/10",
     "A deep-sea monster rises from the waters once every hundred years to feast on a ship and "
     "sate its hunger. Over three hundred years, it has consumed 847 people. Ships have been built "
     "larger over time, so each new ship has twice as many people as the last ship. How many "
     "people were on the ship the monster ate in the first hundred years?",
     "Call the number of people on the first ship x. The second ship had 2x people and the third "
     "had 2 * 2x = 4x. Together x + 2x + 4x = 7x = 847, so x = 847 / 7 = 121. The answer is 121."),
)

# --- MATH 4-shot Minerva exemplars (questions verbatim from math/math_train.jsonl). ---
MATH_EXEMPLARS: tuple[tuple[str, str, str, str], ...] = (
    ("train/algebra/1512.json",
     "In terms of $\\pi$, what is the area of the circle defined by the equation "
     "$2x^2+2y^2+10x-6y-18=0$?",
     "Dividing by 2 gives $x^2+y^2+5x-3y-9=0$. Completing the square in $x$ and in $y$,\n"
     "$$\\left(x+\\frac{5}{2}\\right)^2-\\frac{25}{4}+\\left(y-\\frac{3}{2}\\right)^2-\\frac{9}{4}"
     "-9=0,$$\nso $\\left(x+\\frac{5}{2}\\right)^2+\\left(y-\\frac{3}{2}\\right)^2"
     "=\\frac{25+9+36}{4}=\\frac{35}{2}$. The radius squared is $\\frac{35}{2}$, so the area is "
     "$\\frac{35\\pi}{2}$.",
     "\\frac{35\\pi}{2}"),
    ("train/algebra/145.json",
     "What is the sum of the solutions of the equation $(3x+5)(2x-9) = 0$? Express your answer as "
     "a common fraction.",
     "The product is zero when $3x+5=0$ or $2x-9=0$, that is when $x=-\\frac{5}{3}$ or "
     "$x=\\frac{9}{2}$. Their sum is $-\\frac{10}{6}+\\frac{27}{6}=\\frac{17}{6}$.",
     "\\frac{17}{6}"),
    ("train/number_theory/935.json",
     "What is the smallest positive integer $n$ such that $3n \\equiv 1356 \\pmod{22}?$",
     "Since $22\\cdot 61=1342$, we have $1356\\equiv 14\\pmod{22}$, so we need "
     "$3n\\equiv 14\\pmod{22}$. The inverse of 3 modulo 22 is 15, because $3\\cdot 15=45=2\\cdot "
     "22+1$. Hence $n\\equiv 14\\cdot 15=210\\equiv 12\\pmod{22}$, and the smallest positive "
     "solution is $n=12$. Check: $3\\cdot 12=36\\equiv 14\\pmod{22}$.",
     "12"),
    ("train/counting_and_probability/222.json",
     "The three-digit positive integer $N$ has a ones digit of 3. What is the probability that $N$ "
     "is divisible by 3? Express your answer as a common fraction.",
     "Write $N=100a+10b+3$ with $1\\le a\\le 9$ and $0\\le b\\le 9$, which gives 90 equally likely "
     "numbers. $N$ is divisible by 3 exactly when its digit sum $a+b+3$ is, that is when $a+b$ is, "
     "which happens exactly when the two-digit number $10a+b$ is divisible by 3. Of the 90 "
     "two-digit numbers from 10 to 99, 30 are multiples of 3, so the probability is "
     "$\\frac{30}{90}=\\frac{1}{3}$.",
     "\\frac{1}{3}"),
)


def _math_4shot_template() -> str:
  shots = [f"Problem:\n{q}\n\nSolution:\n{s}\nFinal Answer: The final answer is ${a}$. "
           "I hope it is correct." for _, q, s, a in MATH_EXEMPLARS]
  return "\n\n".join(shots + ["Problem:\n{question}\n\nSolution:"])


def _gsm8k_8shot_template() -> str:
  shots = [f"Q: {q}\nA: {a}" for _, q, a in GSM8K_EXEMPLARS]
  return "\n\n\n".join(shots + ["Q: {question}\nA:"])


# Wordings of the zero-shot instruction for the paraphrase audit; index 0 is the paper's (§4.4).
PARAPHRASE_TEMPLATES: tuple[str, ...] = (
    _chat("{question}\n" + ZERO_SHOT_COT_SUFFIX),
    _chat("Solve the following problem. Explain your reasoning, then give the final answer in "
          "\\boxed{}.\n\n{question}"),
    _chat("{question}\nThink it through one step at a time and write the final answer as "
          "\\boxed{answer}."),
    _chat("Question: {question}\nShow a step-by-step solution and put only the final answer "
          "inside \\boxed{}."),
    _chat("Here is a math problem.\n{question}\nWork carefully, and finish with your answer in the "
          "form \\boxed{...}."),
)

# A continued dialogue means the answer turn is over; EOS is the sampler's own stop.
_CHAT_STOP = ("\n\nUser:",)

FORMATS: dict[str, PromptFormat] = {
    "zero_shot_cot": PromptFormat("zero_shot_cot", PARAPHRASE_TEMPLATES[0], _CHAT_STOP),
    "math_4shot": PromptFormat("math_4shot", _math_4shot_template(), ("\nProblem:",)),
    "gsm8k_8shot": PromptFormat("gsm8k_8shot", _gsm8k_8shot_template(), ("\nQ:",)),
    "tool": PromptFormat("tool", _chat("{question}\n" + TOOL_SUFFIX), _CHAT_STOP),
}

# Few-shot format the paper uses for each benchmark when evaluating Base models (§5.4).
FEW_SHOT_FORMAT = {"gsm8k": "gsm8k_8shot", "math": "math_4shot", "math500": "math_4shot"}


def get_format(name: str) -> PromptFormat:
  if name not in FORMATS:
    raise ValueError(f"unknown prompt format {name!r}; known: {sorted(FORMATS)}")
  return FORMATS[name]


def paraphrase_formats() -> list[PromptFormat]:
  """The zero-shot format under each paraphrase template (`paraphrase_0` is the paper's)."""
  return [PromptFormat(f"paraphrase_{i}", t, _CHAT_STOP)
          for i, t in enumerate(PARAPHRASE_TEMPLATES)]
