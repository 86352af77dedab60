r"""Code and output blocks of tool-integrated reasoning (the paper's PoT/ToRA format).

A model writes a program in a fenced block, the host runs it and appends what it printed:

  ...so we compute it.
  ```python
  print(sum(range(10)))
  ```
  ```output
  45
  ```
  The sum is $\boxed{45}$.

`last_code_block(text)` finds the program to run (the last complete ```python block);
`format_output_block(result)` writes the block the host appends after it.
"""

from __future__ import annotations

import re

from deepseekmath_jax.tools.sandbox import ToolResult

OUTPUT_OPEN = "```output\n"
OUTPUT_CLOSE = "\n```\n"

_BLOCK = re.compile(r"```python[ \t]*\n(.*?)```", re.DOTALL)

# What an output block says for statuses without a useful stdout.
_STATUS_TEXT = {
    "timeout": "timeout",
    "memory": "MemoryError: memory limit exceeded",
    "output_limit": "output limit exceeded",
}


def python_blocks(text: str) -> list[str]:
  """The bodies of the complete ```python ... ``` blocks in `text`, in order."""
  return _BLOCK.findall(text)


def last_code_block(text: str) -> str | None:
  """The body of the last complete ```python ... ``` block in `text`, or None."""
  bodies = python_blocks(text)
  return bodies[-1] if bodies else None


def format_output_block(result: ToolResult) -> str:
  """"```output\n" + the program's output + "\n```\n".

  ok: stdout; error/forbidden: the error's last line; timeout/memory: a short message;
  output_limit: the stdout kept, then "output limit exceeded".
  """
  if result.status == "ok":
    body = result.stdout.rstrip("\n")
  elif result.status in ("error", "forbidden"):
    body = result.error or (result.stderr.strip().splitlines() or ["error"])[-1]
  elif result.status == "output_limit":
    body = result.stdout.rstrip("\n") + "\n" + _STATUS_TEXT["output_limit"]
  else:
    body = _STATUS_TEXT.get(result.status, result.status)
  return OUTPUT_OPEN + body + OUTPUT_CLOSE
