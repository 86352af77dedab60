r"""Answering one question with confidence, routing and escalation: `deepseekmath_jax.solve`.

  python -m deepseekmath_jax.solve --checkpoint=runs/demo/grpo --question="..." [--k=8] [--json]
  python -m deepseekmath_jax.solve --checkpoint=hf:/path/deepseek-math-7b-rl \
      --questions=questions.jsonl --config=configs/solve.py --config.routing.fast_max_chars=120

Routing (deepseekmath_jax/solve.py `route`), first rule that fires:
  tool   a "compute exactly" cue (`routing.tool_cues`, named regexes) or an integer of at least
         `routing.tool_min_digits` digits, when `routing.tools` is on;
  fast   at most `routing.fast_max_chars` characters, no math symbols (`routing.symbols`) and
         no multi-step keyword (`routing.slow_keywords`): an arithmetic word problem; it gets
         `routing.fast_max_samples` samples at most;
  slow   everything else: k samples.
Escalation thresholds (`escalation`) are evaluation/monitoring.py's `EscalationRules`; the
safety-critical rule is `safety`: one regex per category, matched case-insensitively.

Arguments (`configs/solve.py:<arg>`): `tiny` (64 new tokens, 4 samples) or `key=value` pairs.
"""

import ml_collections

from deepseekmath_jax import config_lib

# Multi-step cues: a question with one of these words is not a quick arithmetic question.
_SLOW_KEYWORDS = (
    "prove", "show that", "find all", "how many ways", "probability", "polynomial", "equation",
    "function", "triangle", "circle", "angle", "area", "volume", "matrix", "vector",
    "derivative", "integral", "limit", "sequence", "series", "real number", "complex",
    "integer solution", "inequality", "maximum", "minimum", "largest", "smallest", "sum of all",
)
# "Compute exactly" cues: the answer needs exact, long or digit-level arithmetic.
_TOOL_CUES = dict(
    compute_exactly=r"\b(?:compute|calculate|evaluate|find)\s+(?:\S+\s+){0,3}exactly\b",
    exact_value=r"\bexact\s+(?:value|decimal|answer|result)\b",
    decimal_places=(r"\b(?:to|with)\s+\d+\s+"
                    r"(?:decimal\s+places|significant\s+(?:digits|figures))\b"),
    remainder=r"\bremainder\s+when\b",
    modulo=r"\bmod(?:ulo)?\s+\d",
    last_digits=r"\blast\s+\d+\s+digits\b",
    digit_sum=r"\bsum\s+of\s+(?:all\s+)?(?:the\s+)?digits\b",
    factorial=r"\bfactorial\b|\d+\s*!",
    prime_factorization=r"\bprime\s+factori[sz]ation\b",
    use_code=r"\b(?:use|write|run)\s+(?:python|code|a\s+program)\b",
)
# Safety-critical requests: an answer a person may act on with money, health or the law at
# stake is escalated whatever the agreement. Matching is by word, so textbook problems that
# mention these words escalate too (the safe error).
_SAFETY = dict(
    dosage=r"\b(?:dos(?:e|es|age|ing)|mg/kg|milligrams?|micrograms?|ml/h|infusion|overdose)\b",
    medicine=r"\b(?:medic(?:ine|ation|al)|drugs?|prescri\w+|patients?|insulin|clinical|"
             r"diagnos\w+|pregnan\w+)\b",
    finance=r"\b(?:mortgage|loans?|invest(?:ment|ing|or)?s?|retirement|pension|portfolio|"
            r"stocks?|credit\s+card|debt|interest\s+rate|APR|savings\s+account|insurance)\b",
    tax=r"\b(?:tax(?:es|able|ed)?|IRS|VAT|deductions?|withholding)\b",
    law=r"\b(?:legal(?:ly)?|lawsuit|court|contract|liabilit(?:y|ies)|statute|attorney|lawyer|"
        r"sentenc(?:e|ing)\s+(?:to|of)\s+\d)\b",
    structural=r"\b(?:load[- ]bearing|structural\s+load|safety\s+factor|max(?:imum)?\s+load)\b",
)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="default", tiny=False)
  c = ml_collections.ConfigDict()
  c.stage = "solve"                    # python -m deepseekmath_jax.solve (not a main.py stage)
  c.seed = 0                           # sampling keys
  c.k = 4 if a.tiny else 8             # samples per question (slow and tool bands)
  c.temperature = 0.7                  # sampling temperature (self-consistency, Fig. 7)
  c.max_new_tokens = 64 if a.tiny else 1024  # completion budget per sample
  c.max_prompt_len = 1024              # longer prompts keep their last tokens
  c.batch_size = 16                    # prompts per sampler call
  c.prompt_format = "zero_shot_cot"    # fast and slow bands (evaluation/prompts.py)
  c.tool_prompt_format = "tool"        # tool band: the paper's tool-integrated prompt
  c.stop_strings = ()                  # more stop strings on top of the prompt format's
  c.deadline_s = 2.0                   # verifier deadline per answer
  c.routing = ml_collections.ConfigDict(dict(
      tools=True,                      # False: the tool band's questions go to slow
      fast_max_chars=160,              # longest question the fast band takes
      fast_max_samples=4,              # samples for the fast band (at most k)
      symbols=r"[\\^_{}=<>|√∑∫π≤≥]",  # math notation ($ is money here): not a fast question
      slow_keywords=_SLOW_KEYWORDS,    # multi-step words (case-insensitive, word starts)
      tool_cues=ml_collections.ConfigDict(_TOOL_CUES),  # name -> regex (case-insensitive)
      tool_min_digits=7,               # an integer this long needs exact arithmetic: tool band
  ))
  c.escalation = ml_collections.ConfigDict(dict(
      min_agreement=0.6,               # low_agreement below this share of samples
      runner_up_min_share=0.25,        # candidates_differ: runner-up share of samples, and
      runner_up_min_count=2,           # runner-up samples at least
  ))
  c.safety = ml_collections.ConfigDict(_SAFETY)  # category -> regex (case-insensitive)
  c.tools = ml_collections.ConfigDict(dict(
      max_tool_calls=3,                # program runs per sample
      num_workers=2,                   # sandbox worker processes
      timeout_s=5.0,                   # wall-clock limit per program run
  ))
  c.tokenizer = config_lib.tokenizer_config("")  # '' path: the checkpoint's own
  c.model = config_lib.model_config("tiny")      # runtime keys (dtypes); see configs/eval.py
  c.mesh = config_lib.mesh_config(data=-1)
  c.axis_rules = config_lib.AXIS_RULES
  return c
