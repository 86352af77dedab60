"""Math answer verifier: the GRPO reward and the judge of every evaluation (arXiv:2402.03300).

    from deepseekmath_jax.verifier import grade, grade_batch
    grade("... so the answer is $\\boxed{\\frac{1}{2}}$.", "0.5")   # Grade(correct=True, ...)
    grade_batch(responses, references, strict=True, deadline_s=2.0, questions=questions)

`grade(response, reference, *, strict=False, question=None, deadline_s=2.0,
last_number_fallback=False) -> Grade` with
`Grade.correct`, `Grade.reason`, `Grade.pred`, `Grade.ref` (the normalized extracted answers).
`extract_answer(text)` and `extract_reference(reference)` expose the extraction step and
`answer_key(answer, question=None)` a canonical key for majority voting.

Extraction, first match (details in extract.py and sentences.py): the last `\\boxed{}` (`\\fbox`,
`\\boxed 5`), unless a later "Final Answer: ..." or "the final answer is ..." states a value; else
the GSM8K `####` line, the Minerva "The final answer is X. I hope it is correct.", an answer line
("Answer: ...", "Final Answer: The largest $n$ is 34."), "The answer is X", a concluding last
sentence ("Therefore $x \\geq 5$ is the solution.", "So the pair is $(7, 6)$."), a bare answer, a
last sentence that ends by stating one math object ("The identity matrix is $...$."); and only with
`last_number_fallback=True` (never in strict mode) the last number. Questions, hedges, negations,
plans and setup sentences ("Let $x$ be ...") commit to nothing: a response that commits to no
answer is `no_answer` in both modes. An empty or unclosed last box is no answer. Final boxes that
end a response together (`\\boxed{4}, \\boxed{9}`, or separated by a short phrase or a label
such as `y_2 =`) are one answer list when the reference is a list, set or tuple; otherwise relaxed
grades the last box and strict the whole list, except boxes joined by "or" (`\\boxed{6} or
\\boxed{5}`: alternatives, wrong against a single answer in both modes). A value offered after the
final box as another possible answer ("(though 13 is also possible)", ", or maybe $13$") is a
hedge: `wrong_value`. Text escaped twice (`\\\\frac`) is read once.

Semantics (DESIGN.md "Verifier semantics"):

relaxed (default): the official evaluation's leniency with its bugs fixed.
  - numbers compare exactly in any form (fractions, decimals, repeating decimals, mixed numbers,
    separators, scientific notation, surds, powers); no tolerance makes 0.3333 equal 1/3 or
    1112122 equal 1112112. A printed double (the reference's float64 or a neighbour rounded to
    15+ significant digits: 0.3333333333333333 for 1/3) is accepted, and an
    exact form matching a rounded decimal reference (sqrt(2) vs 1.41) is accepted;
  - percent: X% = X/100; a bare 25 matches 25% when the reference or the question is about
    percent, never a plain number (50 is not 0.5);
  - units: the same quantity in another unit and a missing unit are accepted; a unit that changes
    the quantity (25 m vs 25 km) is `unit_mismatch`;
  - `x = 5`, `PQ = 6`, `(a,b) = (4,1)`, `\\mathbf{A}\\mathbf{x} = v` equal their value; a relation
    equals the set it describes (`|t| > 2` = `(-\\infty,-2)\\cup(2,\\infty)`, "no solution" =
    `\\emptyset`); a tuple equals a column vector and its `\\mathbf{i}, \\mathbf{j}, \\mathbf{k}` form;
    `j` equals `i`; an option letter equals its option text when the question lists options;
    a 12-hour time without a.m./p.m. matches when the question fixes the half of the day;
    unevaluated arithmetic (`12 \\cdot 7`) equals its value; the only free variable renamed
    (`g(s)` for `g(t)`); the same angle in degrees and radians unless the question fixes one.
strict: equal value *and* same kind: the reference's unit, no percent/number mixing, interval vs
  inequality vs set, tuple vs vector, letter vs text, the question's prescribed order, and no
  last-number fallback in extraction. What relaxed accepts and strict refuses is reported as
  `format_mismatch` or `unit_mismatch`.
Both modes: ordered pairs/tuples/vectors are ordered, sets and "all solutions" lists are not,
interval brackets always matter, an answer restating the input of a factor/expand/convert task is
wrong, a rounding instruction in the question must be followed, and so must a prescribed form
("as a common fraction", "as a decimal", "as a mixed number", "in lowest terms"); an option letter
written with another option's text (`(B) 14` when (B) is 12) is `choice_mismatch`.

Reasons (`REASONS`, fixed taxonomy): correct, wrong_value, no_answer, parse_error,
format_mismatch, unit_mismatch, relation_mismatch, variable_mismatch, choice_mismatch,
task_form_mismatch, timeout. `Grade.correct` is True exactly when reason == "correct". README's
verifier section has the table of answer kinds x relaxed x strict.

Safety: model text is never evaluated as code. Numbers use exact `fractions.Fraction` arithmetic
with size bounds; sympy (through the latex2sympy2_extended parser) runs only in worker processes
with a wall-clock deadline, and a worker past it is killed and replaced. Inputs are capped
(131 072 characters per response, 1 000 per extracted answer); invalid text is `parse_error`.
"""

from deepseekmath_jax.verifier.extract import extract_answer
from deepseekmath_jax.verifier.extract import extract_reference
from deepseekmath_jax.verifier.grading import answer_key
from deepseekmath_jax.verifier.grading import Grade
from deepseekmath_jax.verifier.grading import grade
from deepseekmath_jax.verifier.grading import grade_batch
from deepseekmath_jax.verifier.grading import REASONS
from deepseekmath_jax.verifier.pool import shutdown

__all__ = ["Grade", "REASONS", "answer_key", "extract_answer", "extract_reference", "grade",
           "grade_batch", "shutdown"]
