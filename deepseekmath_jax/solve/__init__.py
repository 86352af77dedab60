"""Answer a math question with routing, self-consistency, verifier checks and escalation.

  from deepseekmath_jax import solve
  sol = solve.solve(question, model=model, tokenizer=tokenizer, reference=None, k=8)
  print(sol.format())

`python -m deepseekmath_jax.solve` is the command line (`__main__.py`); `solver.py` samples and
judges; `routing.py` picks the band and applies the safety rule (configs/solve.py).
"""

from deepseekmath_jax.solve.routing import BANDS
from deepseekmath_jax.solve.routing import Route
from deepseekmath_jax.solve.routing import num_samples
from deepseekmath_jax.solve.routing import route
from deepseekmath_jax.solve.routing import safety_categories
from deepseekmath_jax.solve.routing import tools_available
from deepseekmath_jax.solve.solver import assess
from deepseekmath_jax.solve.solver import committed_answer
from deepseekmath_jax.solve.solver import default_config
from deepseekmath_jax.solve.solver import read_questions
from deepseekmath_jax.solve.solver import Solution
from deepseekmath_jax.solve.solver import solve
from deepseekmath_jax.solve.solver import solve_batch
from deepseekmath_jax.solve.solver import tool_status

__all__ = ["BANDS", "Route", "Solution", "assess", "committed_answer", "default_config",
           "num_samples", "read_questions", "route", "safety_categories", "solve", "solve_batch",
           "tool_status", "tools_available"]
