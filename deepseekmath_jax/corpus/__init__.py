"""The math corpus engine (arXiv:2402.03300 §2.1): web pages in, math corpus shards out.

readers (WARC/WET/HTML/jsonl) -> html_to_text (+ mathml) -> dedup -> recall (classifier,
domain discovery) -> decontam -> shards + report. `pipeline.run` is the local runner,
`beam_pipeline.run` the Apache Beam one; `read_corpus(dir)` reads what a run kept; `labels`
measures a run's precision and recall against labelled pages.
"""

from deepseekmath_jax.corpus.shards import read_corpus

__all__ = ["read_corpus"]
