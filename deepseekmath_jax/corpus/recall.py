"""Iterative recall with domain discovery (arXiv:2402.03300 §2.1, Fig. 2).

One iteration:
  1. train the classifier on the seed (positives) and random pool pages (negatives);
  2. score the pool and keep the top-ranked pages (a probability threshold, or the best pages
     up to a token budget: the paper kept the top 40B tokens in iteration 1);
  3. domain discovery: group pages by domain; a domain where more than 10% of its pages were
     collected is "math-related" (the paper's example: mathoverflow.net); propose URL path
     prefixes inside it (mathoverflow.net/questions). The paper had humans accept prefixes; we
     read a reviewed file of accepted prefixes and/or accept automatically a prefix whose pages
     were mostly collected;
  4. pages under accepted prefixes that were not collected join the seed; retrain.
The paper ran 4 iterations and stopped when 98% of the data was already collected in the
previous iteration; each iteration's overlap with the previous one is reported.

Pool pages sampled as negatives are scored by a model that did not see them (2-fold
cross-fitting), so a math page drawn as a "random negative" is not rejected because it was
labelled negative. At Common Crawl scale the overlap is negligible; on small pools it is not.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from typing import Any, Sequence

import numpy as np
from absl import logging

from deepseekmath_jax.corpus import classifier as classifier_lib
from deepseekmath_jax.corpus import dedup


@dataclasses.dataclass
class RecallResult:
  scores: np.ndarray           # final p(math) per pool document
  selected: np.ndarray         # bool, kept by the final iteration
  first_iteration: np.ndarray  # int, first iteration that collected each document (0 = never)
  iterations: list[dict]       # per-iteration statistics for the report
  model: classifier_lib.MathClassifier


def url_prefix(url: str | None, depth: int) -> str | None:
  """`domain/first/segments` of a URL, `depth` path segments deep (None if no path)."""
  if not url:
    return None
  try:
    path = urllib.parse.urlsplit(url).path
  except ValueError:
    return None
  segments = [s for s in path.split("/") if s][:depth]
  if not segments:
    return None
  return dedup.url_domain(url) + "/" + "/".join(segments)


def read_reviewed_prefixes(path: str) -> set[str]:
  """Accepted prefixes, one per line (`mathoverflow.net/questions`); `#` starts a comment."""
  if not path:
    return set()
  if not os.path.exists(path):
    raise FileNotFoundError(f"config.recall.reviewed_prefixes: {path} does not exist")
  out = set()
  with open(path, encoding="utf-8") as f:
    for line in f:
      line = line.split("#", 1)[0].strip().lower()
      if line:
        out.add(line.removeprefix("https://").removeprefix("http://").removeprefix(
            "www.").rstrip("/"))
  return out


def domain_discovery(urls: Sequence[str | None], selected: np.ndarray, cfg: Any,
                     reviewed: set[str]) -> dict:
  """Flags math domains, proposes and accepts URL prefixes (see module docstring)."""
  domains: dict[str, list[int]] = {}
  for i, url in enumerate(urls):
    if url:
      domains.setdefault(dedup.url_domain(url), []).append(i)
  flagged, proposed, accepted = [], [], []
  for domain, members in sorted(domains.items()):
    collected = int(selected[members].sum())
    fraction = collected / len(members)
    if len(members) < cfg.min_domain_pages or fraction <= cfg.domain_threshold:
      continue
    flagged.append(dict(domain=domain, pages=len(members), collected=collected,
                        fraction=round(fraction, 4)))
    prefixes: dict[str, list[int]] = {}
    for i in members:
      prefix = url_prefix(urls[i], cfg.prefix_depth)
      if prefix:
        prefixes.setdefault(prefix, []).append(i)
    for prefix, under in sorted(prefixes.items()):
      got = int(selected[under].sum())
      row = dict(prefix=prefix, pages=len(under), collected=got,
                 fraction=round(got / len(under), 4))
      proposed.append(row)
      auto = cfg.auto_prefixes and len(under) >= cfg.min_prefix_pages and (
          got / len(under) >= cfg.prefix_threshold)
      if prefix in reviewed or auto:
        accepted.append(dict(row, by="reviewed" if prefix in reviewed else "auto"))
  # A reviewed prefix counts even where its domain was not flagged this iteration.
  known = {a["prefix"] for a in accepted}
  for prefix in sorted(reviewed - known):
    accepted.append(dict(prefix=prefix, by="reviewed"))
  return dict(flagged_domains=flagged, proposed_prefixes=proposed, accepted_prefixes=accepted)


def under_prefixes(url: str | None, prefixes: set[str]) -> bool:
  if not url or not prefixes:
    return False
  try:
    path = urllib.parse.urlsplit(url).path
  except ValueError:
    return False
  full = dedup.url_domain(url) + "/" + path.strip("/")
  return any(full == p or full.startswith(p.rstrip("/") + "/") for p in prefixes)


def select(scores: np.ndarray, n_tokens: np.ndarray, cfg: Any) -> np.ndarray:
  """Top-ranked pages: `threshold` mode keeps p >= threshold; `budget` the best pages up to
  `token_budget` tokens (among those with p >= threshold)."""
  keep = scores >= cfg.threshold
  if cfg.select == "threshold":
    return keep
  if cfg.select != "budget":
    raise ValueError(f"config.recall.select={cfg.select!r}; expected 'threshold' or 'budget'")
  order = np.argsort(-scores, kind="stable")
  cumulative = np.cumsum(n_tokens[order])
  budget_mask = np.zeros_like(keep)
  budget_mask[order[cumulative <= cfg.token_budget]] = True
  return keep & budget_mask


def run_recall(pool_hashes: Sequence[np.ndarray], urls: Sequence[str | None],
               n_tokens: np.ndarray, seed_hashes: Sequence[np.ndarray],
               extra_negatives: Sequence[np.ndarray], cfg: Any,
               clf_config: classifier_lib.ClassifierConfig, model_dir: str | None,
               ) -> RecallResult:
  """Runs `cfg.iterations` recall iterations over the pool (in memory)."""
  rng = np.random.default_rng(clf_config.seed)
  n_pool = len(pool_hashes)
  reviewed = read_reviewed_prefixes(cfg.reviewed_prefixes)
  positives = list(seed_hashes)
  in_seed = np.zeros(n_pool, bool)   # pool pages added to the seed by domain discovery
  selected_prev = np.zeros(n_pool, bool)
  first_iteration = np.zeros(n_pool, np.int32)
  stats: list[dict] = []
  scores = np.zeros(n_pool, np.float32)
  selected = selected_prev
  model = None
  for iteration in range(1, cfg.iterations + 1):
    # Negatives: random pool pages (as in the paper, whatever their label) not in the seed,
    # plus any extra negatives given.
    candidates = np.flatnonzero(~in_seed)
    n_neg = int(min(len(candidates), max(1, round(cfg.negatives_per_positive * len(positives))),
                    cfg.max_pool_negatives_fraction * n_pool))
    neg_pool = rng.choice(candidates, size=n_neg, replace=False) if n_neg else np.zeros(0, int)
    folds = 2 if (cfg.crossfit and n_neg >= 2) else 1
    fold_of = rng.permutation(n_neg) % folds
    models, metrics = [], None
    for fold in range(folds):
      neg_docs = [pool_hashes[i] for i in neg_pool[fold_of == fold]] + list(extra_negatives)
      texts = positives + neg_docs
      labels = np.array([1] * len(positives) + [0] * len(neg_docs))
      order = rng.permutation(len(texts))
      n_eval = int(round(cfg.heldout_fraction * len(texts))) if fold == 0 else 0
      eval_idx, train_idx = order[:n_eval], order[n_eval:]
      fold_config = dataclasses.replace(clf_config, seed=clf_config.seed + 1000 * iteration + fold)
      model = classifier_lib.MathClassifier.train([texts[i] for i in train_idx],
                                                  labels[train_idx], fold_config)
      if fold == 0 and n_eval:
        metrics = classifier_lib.binary_metrics(
            model.predict_hashes([texts[i] for i in eval_idx]), labels[eval_idx],
            cfg.threshold)
      models.append(model)
    fold_scores = np.stack([m.predict_hashes(pool_hashes) for m in models])  # [folds, N]
    scores = fold_scores.mean(axis=0)
    if folds == 2:
      for fold in range(2):  # a sampled negative is scored by the model that did not see it
        idx = neg_pool[fold_of == fold]
        scores[idx] = fold_scores[1 - fold, idx]
    selected = select(scores, n_tokens, cfg)
    first_iteration[selected & (first_iteration == 0)] = iteration
    discovery = domain_discovery(urls, selected, cfg, reviewed)
    accepted = {a["prefix"] for a in discovery["accepted_prefixes"]}
    added = [i for i in range(n_pool) if not selected[i] and not in_seed[i]
             and under_prefixes(urls[i], accepted)]
    in_seed[added] = True
    positives.extend(pool_hashes[i] for i in added)
    overlap = (float((selected & selected_prev).sum() / max(selected_prev.sum(), 1))
               if iteration > 1 else None)
    row = dict(iteration=iteration, positives=len(positives) - len(added),
               pool_negatives=int(n_neg), extra_negatives=len(extra_negatives), folds=folds,
               heldout=metrics, selected=int(selected.sum()),
               selected_tokens=int(n_tokens[selected].sum()),
               fraction_of_previous_recollected=overlap, added_to_seed=len(added), **discovery)
    stats.append(row)
    logging.info("recall iteration %d: %d/%d pages selected (%d tokens), held-out %s, "
                 "%d domains flagged, %d prefixes accepted, %d pages added to the seed",
                 iteration, row["selected"], n_pool, row["selected_tokens"],
                 {k: round(v, 3) for k, v in (metrics or {}).items() if isinstance(v, float)},
                 len(discovery["flagged_domains"]), len(accepted), len(added))
    if model_dir:
      models[0].save(os.path.join(model_dir, f"iteration_{iteration}"))
    selected_prev = selected
  return RecallResult(scores, selected, first_iteration, stats, model)
