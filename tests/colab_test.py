"""Executes every notebook in colab/ headlessly, with tiny settings, and checks key outputs.

Each notebook runs in its own ipykernel started from this interpreter (the kernel is checked to
run in this environment) with `DSM_COLAB_TINY=1`, which the notebooks read to shrink sizes. Files
they write go to a temporary directory. Compiled XLA programs are kept in a persistent JAX cache
under pytest's cache directory, so repeated runs skip most compiles.
"""

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
COLAB = REPO / "colab"
SHARED_DATA = REPO.parent / "shared" / "data"

# Notebook -> strings its outputs must contain, and the least number of plots it must show.
EXPECTED = {
    "quickstart.ipynb": dict(
        texts=["parameters", "completions in", "tokens    (1, 4, 16)", "rewards [",
               "Grade(correct=True, reason='correct'", "reason='no_answer'"],
        plots=0),
    "grpo_step.ipynb": dict(
        texts=["advantages Â [B, G]", "max |trainer - sampler|", "update 0: loss",
               "after the updates:", "clip_ratio", "max |autodiff - Eq. 21|", "step ends"],
        plots=5),
    "verifier_playground.ipynb": dict(
        texts=["format_mismatch", "unit_mismatch", "| case | response | reference |",
               "items graded in", "5 votes"],
        plots=1),
    "hf_checkpoint.ipynb": dict(
        texts=["skipped: LOAD_7B", "max |ours - transformers|", "roundtrip through",
               "mesh {'data': 1, 'fsdp': 4, 'tensor': 2}", "sharded logits"],
        plots=0),
}


def _outputs(nb):
  """All text the notebook showed (streams, plain text, Markdown) and its number of images."""
  texts, images = [], 0
  for cell in nb.cells:
    for out in cell.get("outputs", []):
      if out.output_type == "stream":
        texts.append(out.text)
      elif out.output_type in ("display_data", "execute_result"):
        texts.append(out.data.get("text/markdown", ""))
        texts.append(out.data.get("text/plain", ""))
        images += "image/png" in out.data
  return "\n".join(texts), images


def test_every_notebook_is_tested_and_stripped():
  names = sorted(p.name for p in COLAB.glob("*.ipynb"))
  assert names == sorted(EXPECTED)
  for name in names:
    nb = nbformat.read(COLAB / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.startswith("# @title Install the package"), name
    for cell in code:
      assert cell.source.startswith("# @title"), (name, cell.source[:60])
      assert not cell.outputs and cell.execution_count is None, f"{name}: outputs not stripped"


@pytest.fixture(scope="module")
def jax_cache_dir(request, tmp_path_factory):
  cache = getattr(request.config, "cache", None)
  if cache is None:
    return tmp_path_factory.mktemp("jax_cache")
  return cache.mkdir("colab_jax_compilation_cache")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs(name, tmp_path, monkeypatch, jax_cache_dir):
  monkeypatch.setenv("DSM_COLAB_TINY", "1")
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  monkeypatch.setenv("TMPDIR", str(tmp_path))
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
      [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
  monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(jax_cache_dir))
  monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
  monkeypatch.delenv("MPLBACKEND", raising=False)   # the kernel's inline backend draws PNGs
  monkeypatch.delenv("XLA_FLAGS", raising=False)

  nb = nbformat.read(COLAB / name, as_version=4)
  # Not part of the notebook: the kernel must run this environment's interpreter.
  nb.cells.insert(0, nbformat.v4.new_code_cell(
      f"import sys\nassert sys.prefix == {sys.prefix!r}, sys.prefix"))
  client = NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=False,
                          resources={"metadata": {"path": str(COLAB)}})
  client.execute()

  text, images = _outputs(nb)
  expected = EXPECTED[name]
  for needle in expected["texts"]:
    assert needle in text, f"{name}: {needle!r} not in the outputs"
  plots = expected["plots"]
  if name == "verifier_playground.ipynb" and (SHARED_DATA / "math" / "math500").exists():
    plots += 1
    assert "full solution" in text and "'correct': 20" in text
  assert images >= plots, f"{name}: {images} plots, expected at least {plots}"
