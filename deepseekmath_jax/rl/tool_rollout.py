r"""Tool-integrated rollouts: the model writes Python, the sandbox runs it, decoding goes on.

The paper's "Tool" setting (arXiv:2402.03300 §4.4, Table 5; the PoT/ToRA format): a completion
interleaves reasoning with ```python blocks; after each block the host appends the program's
output as a ```output block and the model continues, up to `max_tool_calls` programs.

  samples = generate_with_tools(model, tokenizer, prompt_ids, num_samples=G, max_new_tokens=T,
                                rng=key, sandbox=Sandbox(), max_tool_calls=4)
  samples.tokens            [B, G, T] model tokens and tool-output tokens, as one completion
  samples.model_token_mask  [B, G, T] 1 on tokens the model sampled, 0 on tool-output tokens
                            (environment tokens: GRPO multiplies this into its loss mask, as
                            TRL's and verl's tool masks do) and on padding
  samples.logprobs          [B, G, T] the sampler's log-probs of model tokens, 0 elsewhere
  generate_text_with_tools(...)  text in, `ToolTrace`s (text + tool results) out

The loop, round by round (at most 2·max_tool_calls + 1 sampler calls):

1. `sampler.generate` decodes every active row; besides EOS and the caller's stop strings, its
   stop sequences include the token spellings of a closing fence (```` ```\n ````) and of
   ```` ```output ```` (where ToRA-trained models stop), so rows halt at the end of a block.
2. The host finds, in each row's new tokens, the first token at which a new ```python block is
   closed (binary search over decoded prefixes, so any tokenization of the fence works, even
   one the stop sequences miss), keeps the tokens up to it and drops the rest (they were
   sampled without the program's output in context).
3. The programs of all such rows run as one sandbox batch; each row gets the tokens of
   `code_blocks.format_output_block(result)` appended with mask 0 and log-prob 0.
4. Rows continue from prompt + completion so far (the whole completion is the next round's
   prompt; the prompt's KV cache is rebuilt, which is cheap next to the sampling). A row
   that closes a block after its `max_tool_calls` programs ends there; a row that stopped on
   a fence that closes no python block (a ```text block, say) continues without a tool call.

The token budget T covers model and tool-output tokens together; a row that reaches it is
truncated (an output block is cut at the budget too). Keys: round r samples with
`fold_in(rng, r)`, so a call is reproducible; unlike the plain sampler, a row's later rounds
depend on which other rows are still active.

Several processes (a multi-host job): every process samples the same global rollouts (the
sampler gathers all rows to every host) and runs this loop on them, so each must append the
same output blocks. The programs run on process 0 only, in its sandbox (the others pass
`sandbox=None`): untrusted code runs on one host, and a deadline that expires on one host and
not on another cannot split the rollouts. `run_programs` broadcasts process 0's results
(`broadcast_one_to_all`, fixed-shape arrays: the JSON's byte length, then the padded bytes).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.rl import sampler
from deepseekmath_jax.tools import code_blocks
from deepseekmath_jax.tools.metrics import tool_call_metrics  # noqa: F401  (re-exported)
from deepseekmath_jax.tools.sandbox import Sandbox, ToolResult

# Where rows stop so that the host can look for a closed block (see step 1).
TOOL_STOP_STRINGS = ("```\n", "```output")


@dataclasses.dataclass
class ToolSamples(sampler.Samples):
  """`sampler.Samples` of tool-integrated completions, plus the tool bookkeeping.

  Attributes (beyond Samples; `logprobs` is 0 on tool-output tokens):
    model_token_mask: int32 [B, G, T]: 1 where the model sampled the token, 0 on tool-output
      tokens and padding.
    tool_calls: int32 [B, G] programs run per completion.
    tool_results: [B][G] lists of `ToolResult`, in call order.
    rounds: sampler calls made.
  """
  model_token_mask: np.ndarray | None = None
  tool_calls: np.ndarray | None = None
  tool_results: list[list[list[ToolResult]]] | None = None
  rounds: int = 0


@dataclasses.dataclass(frozen=True)
class ToolTrace:
  """One tool-integrated completion as text.

  Attributes:
    text: the whole completion: reasoning, code blocks and the appended output blocks.
    tool_results: the programs' results, in call order.
    truncated: the completion used the whole token budget.
    num_tokens: completion tokens (model and tool output).
    num_model_tokens: tokens the model sampled.
  """
  text: str
  tool_results: list[ToolResult]
  truncated: bool = False
  num_tokens: int = 0
  num_model_tokens: int = 0


class _Row:
  """One completion under construction."""

  def __init__(self, prompt: list[int]):
    self.prompt = prompt
    self.tokens: list[int] = []
    self.logprobs: list[float] = []
    self.mask: list[int] = []
    self.results: list[ToolResult] = []
    self.code: str | None = None       # a program waiting for the sandbox
    self.resume = False                # decode more in the next round
    self.truncated = False

  def add(self, ids: Sequence[int], logprobs: Sequence[float], model: bool) -> None:
    self.tokens += [int(t) for t in ids]
    self.logprobs += [float(x) for x in logprobs] if model else [0.0] * len(ids)
    self.mask += [int(model)] * len(ids)


def _closed_blocks(text: str) -> int:
  return len(code_blocks.python_blocks(text))


def _closing_index(decode, context: list[int], segment: list[int]) -> int | None:
  """The smallest k such that context + segment[:k] closes a new python block, or None."""
  if not segment or "`" not in decode(segment):
    return None
  before = _closed_blocks(decode(context))
  if _closed_blocks(decode(context + segment)) <= before:
    return None
  lo, hi = 1, len(segment)
  while lo < hi:
    mid = (lo + hi) // 2
    if _closed_blocks(decode(context + segment[:mid])) > before:
      hi = mid
    else:
      lo = mid + 1
  return lo


def _results_to_bytes(results: Sequence[ToolResult]) -> bytes:
  return json.dumps([dataclasses.asdict(r) for r in results]).encode()


def _results_from_bytes(data: bytes) -> list[ToolResult]:
  return [ToolResult(**fields) for fields in json.loads(data.decode())]


def run_programs(sandbox: Sandbox | None, codes: Sequence[str]) -> list[ToolResult]:
  """The programs' results, the same on every process of the job.

  One process: `sandbox.run_batch(codes)`. Several processes: process 0 runs the batch in
  its sandbox and broadcasts the results; the other processes run nothing (their `sandbox`
  is ignored, None is expected). Every process must make the same calls with the same
  number of programs: in `generate_with_tools` the programs come from the rollouts, which
  every process holds identically, so the calls (one per tool round) match.
  """
  codes = [str(c) for c in codes]
  if jax.process_count() == 1:
    if sandbox is None:
      raise ValueError("run_programs: no sandbox to run the programs in")
    return sandbox.run_batch(codes)
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  source = jax.process_index() == 0
  if source:
    if sandbox is None:
      raise ValueError("run_programs: process 0 runs the programs and has no sandbox")
    data = _results_to_bytes(sandbox.run_batch(codes))
  else:
    data = b""
  # broadcast_one_to_all needs one shape on every process: the byte length goes first, then
  # the bytes padded to a power of two (>= 4 KiB), so a few compiled broadcasts serve all.
  size = int(multihost_utils.broadcast_one_to_all(np.asarray([len(data)], np.int32))[0])
  buffer_U = np.zeros(max(4096, 1 << (size - 1).bit_length()), np.uint8)
  buffer_U[:len(data)] = np.frombuffer(data, np.uint8)
  buffer_U = multihost_utils.broadcast_one_to_all(buffer_U)
  results = _results_from_bytes(buffer_U[:size].tobytes())
  if len(results) != len(codes):
    raise RuntimeError(f"run_programs: process {jax.process_index()} expected {len(codes)} "
                       f"results and process 0 sent {len(results)}: the processes' rollouts "
                       "diverged")
  return results


def generate_with_tools(model: nnx.Module, tokenizer: Any, prompts: Sequence[Sequence[int]], *,
                        num_samples: int, max_new_tokens: int, rng: jax.Array,
                        sandbox: Sandbox | None, max_tool_calls: int, temperature: float = 1.0,
                        top_p: float = 1.0, top_k: int = 0, stop_strings: Sequence[str] = (),
                        max_prompt_len: int | None = None, mesh: Any = None,
                        rules: sharding.Rules = config_lib.AXIS_RULES) -> ToolSamples:
  """G tool-integrated completions per prompt (token ids, BOS included); see module docstring.

  Args beyond `sampler.generate`'s: `tokenizer` (decodes to find code blocks, encodes the
  output blocks), `sandbox` (runs the programs; with several processes only process 0's is
  used, and the others may pass None: see `run_programs`), `max_tool_calls` (programs per
  completion; 0 is plain sampling), `stop_strings` (text that ends a completion; its token
  spellings are the sampler's stop sequences).
  """
  if max_tool_calls < 0:
    raise ValueError(f"max_tool_calls must be >= 0, got {max_tool_calls}")
  if max_tool_calls and sandbox is None and jax.process_index() == 0:
    raise ValueError("generate_with_tools: max_tool_calls > 0 needs a sandbox on process 0")
  from deepseekmath_jax.rl import rewards as rewards_lib  # pylint: disable=g-import-not-at-top
  decode = lambda ids: rewards_lib.decode_completion(tokenizer, ids)
  T = int(max_new_tokens)
  G = int(num_samples)
  user_stops = tuple(stop_strings)
  tool_stops = TOOL_STOP_STRINGS if max_tool_calls else ()
  stop_ids = sampler.stop_token_sequences(tokenizer, user_stops + tool_stops)
  common = dict(temperature=temperature, top_p=top_p, top_k=top_k, eos_id=tokenizer.eos_id,
                pad_id=tokenizer.pad_id, stop_sequences=stop_ids, mesh=mesh, rules=rules)
  first = sampler.generate(model, prompts, num_samples=G, max_new_tokens=T,
                           rng=jax.random.fold_in(rng, 0), max_prompt_len=max_prompt_len,
                           **common)
  kept = [list(map(int, q))[-max_prompt_len:] if max_prompt_len else list(map(int, q))
          for q in prompts]
  rows = [_Row(kept[b]) for b in range(len(prompts)) for _ in range(G)]
  continuation_slots = sampler.bucket_length(max(len(q) for q in kept) + T)

  def absorb(row: _Row, segment: np.ndarray, logprobs: np.ndarray, length: int) -> None:
    """Takes one round's new tokens into `row`: a closed block, an end, or a resume."""
    remaining = T - len(row.tokens)
    segment = [int(t) for t in segment[:min(length, remaining)]]
    logprobs = logprobs[:len(segment)]
    cut_by_budget = length > remaining
    context = row.prompt + row.tokens
    k = _closing_index(decode, context, segment) if max_tool_calls else None
    if k is not None:
      row.add(segment[:k], logprobs[:k], model=True)
      if len(row.tokens) >= T:
        row.truncated = True             # no room left for the program's output
      elif len(row.results) < max_tool_calls:
        row.code = code_blocks.last_code_block(decode(row.prompt + row.tokens))
      return                             # past max_tool_calls the completion ends here
    row.add(segment, logprobs, model=True)
    if segment and segment[-1] == tokenizer.eos_id and not cut_by_budget:
      return                             # ended by EOS
    if len(row.tokens) >= T:
      row.truncated = True
      return
    text = decode(segment)
    if (tool_stops and not any(s in text for s in user_stops)
        and text.rstrip(" \n").endswith(("```", "```output"))):
      row.resume = True                  # a fence that closed no python block: go on

  for b in range(len(prompts)):
    for g in range(G):
      absorb(rows[b * G + g], first.tokens[b, g], first.logprobs[b, g],
             int(first.lengths[b, g]))

  rounds = 1
  max_rounds = 2 * max_tool_calls + 1
  while True:
    calling = [r for r in rows if r.code is not None]
    if calling:
      # `calling` is a function of the rollouts, the same on every process, so every
      # process reaches this call in the same rounds with the same programs.
      results = run_programs(sandbox, [r.code for r in calling])
      for row, result in zip(calling, results):
        row.code = None
        row.results.append(result)
        lead = "" if decode(row.prompt + row.tokens).endswith("\n") else "\n"
        output_ids = tokenizer.encode(lead + code_blocks.format_output_block(result))
        room = T - len(row.tokens)
        row.add(output_ids[:room], [], model=False)
        if len(output_ids) >= room:
          row.truncated = True
        else:
          row.resume = True
    active = [r for r in rows if r.resume]
    if not active or rounds >= max_rounds:
      break
    for r in active:
      r.resume = False
    # Continuations share one shape: prompt slots for the longest possible context and the
    # budget T (rows are cut to their own remaining budget here, and the decode loop exits
    # when every row has ended), so they compile once per row bucket.
    out = sampler.generate(model, [r.prompt + r.tokens for r in active], num_samples=1,
                           max_new_tokens=T, rng=jax.random.fold_in(rng, rounds),
                           max_prompt_len=None, prompt_slots=continuation_slots, **common)
    rounds += 1
    for i, row in enumerate(active):
      absorb(row, out.tokens[i, 0], out.logprobs[i, 0], int(out.lengths[i, 0]))

  B = len(prompts)
  tokens = np.full((B, G, T), tokenizer.pad_id, np.int32)
  logprobs = np.zeros((B, G, T), np.float32)
  mask = np.zeros((B, G, T), np.int32)
  lengths = np.zeros((B, G), np.int32)
  truncated = np.zeros((B, G), bool)
  calls = np.zeros((B, G), np.int32)
  results: list[list[list[ToolResult]]] = [[[] for _ in range(G)] for _ in range(B)]
  for i, row in enumerate(rows):
    b, g = divmod(i, G)
    n = len(row.tokens)
    tokens[b, g, :n] = row.tokens
    logprobs[b, g, :n] = row.logprobs
    mask[b, g, :n] = row.mask
    lengths[b, g] = n
    truncated[b, g] = row.truncated
    calls[b, g] = len(row.results)
    results[b][g] = list(row.results)
  return ToolSamples(tokens=tokens, logprobs=logprobs, lengths=lengths, truncated=truncated,
                     prompt_lengths=first.prompt_lengths,
                     num_truncated_prompts=first.num_truncated_prompts,
                     decode_steps=first.decode_steps, model_token_mask=mask, tool_calls=calls,
                     tool_results=results, rounds=rounds)


def generate_text_with_tools(model: nnx.Module, tokenizer: Any, prompts: Sequence[str], *,
                             num_samples: int, max_new_tokens: int, temperature: float = 1.0,
                             sandbox: Sandbox | None, max_tool_calls: int,
                             stop_strings: Sequence[str] = (), rng: jax.Array | None = None,
                             seed: int = 0, batch_size: int = 32,
                             max_prompt_len: int | None = None, top_p: float = 1.0,
                             top_k: int = 0, mesh: Any = None,
                             rules: sharding.Rules = config_lib.AXIS_RULES
                             ) -> list[list[ToolTrace]]:
  """Text in, `num_samples` `ToolTrace`s per prompt out (the tool analogue of
  `sampler.generate_text`): prompts get BOS, texts are cut at the first stop string, and
  prompts go `batch_size` at a time with keys `fold_in(rng or key(seed), start)`."""
  from deepseekmath_jax.rl import rewards as rewards_lib  # pylint: disable=g-import-not-at-top
  rng = jax.random.key(seed) if rng is None else rng
  out: list[list[ToolTrace]] = []
  for start in range(0, len(prompts), batch_size):
    chunk = [tokenizer.encode(p, add_bos=True) for p in prompts[start:start + batch_size]]
    s = generate_with_tools(model, tokenizer, chunk, num_samples=num_samples,
                            max_new_tokens=max_new_tokens, rng=jax.random.fold_in(rng, start),
                            sandbox=sandbox, max_tool_calls=max_tool_calls,
                            temperature=temperature, top_p=top_p, top_k=top_k,
                            stop_strings=stop_strings, max_prompt_len=max_prompt_len,
                            mesh=mesh, rules=rules)
    for b in range(len(chunk)):
      traces = []
      for g in range(num_samples):
        n = int(s.lengths[b, g])
        text = rewards_lib.decode_completion(tokenizer, s.tokens[b, g, :n])
        traces.append(ToolTrace(text=sampler.cut_at_stop(text, stop_strings),
                                tool_results=s.tool_results[b][g],
                                truncated=bool(s.truncated[b, g]), num_tokens=n,
                                num_model_tokens=int(s.model_token_mask[b, g].sum())))
      out.append(traces)
  return out
