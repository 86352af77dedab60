"""Tools for tool-integrated reasoning: a sandbox for model-written Python, code blocks."""

from deepseekmath_jax.tools.sandbox import Sandbox, SandboxError, ToolResult

__all__ = ["Sandbox", "SandboxError", "ToolResult"]
