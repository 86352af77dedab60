"""Tool-call statistics of tool-integrated completions (for GRPO metrics and eval reports)."""

from __future__ import annotations

from collections.abc import Sequence

from deepseekmath_jax.tools.sandbox import ToolResult

# Statuses counted as failed programs (timeouts are counted on their own).
ERROR_STATUSES = ("error", "forbidden", "memory", "output_limit")


def tool_call_metrics(results_per_sample: Sequence[Sequence[ToolResult]]) -> dict[str, float]:
  """Tool calls per sample, the share of samples with a call, error and timeout rates.

  Rates are over calls: `tool_error_rate` counts error, forbidden, memory and output_limit;
  `tool_timeout_rate` counts timeouts (0 when no call was made).
  """
  n = max(len(results_per_sample), 1)
  calls = [r for sample in results_per_sample for r in sample]
  num_calls = max(len(calls), 1)
  return {
      "tool_calls_per_sample": len(calls) / n,
      "tool_samples_with_call": sum(1 for s in results_per_sample if s) / n,
      "tool_error_rate": sum(r.status in ERROR_STATUSES for r in calls) / num_calls,
      "tool_timeout_rate": sum(r.status == "timeout" for r in calls) / num_calls,
      "tool_seconds_mean": sum(r.seconds for r in calls) / num_calls,
  }
