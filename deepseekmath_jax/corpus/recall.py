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
For the same reason the negatives are unlabelled rather than non-math, so with
`pu_correction` the cut follows Elkan & Noto (2008): the score estimates c p(math | x), c the
mean score of held-out seed documents, and a page is kept when score / c >= threshold. Given
known negatives (`negative_path`) the negatives are labelled and the cut stays `threshold`.

Every draw (the negatives, their fold, the held-out examples, the training order) ranks documents
by a hash of what they are (the pool page's normalized-text hash, a training example's token
view) salted with `config.seed` and the iteration, never by their position in the input: the
same pages give the same corpus whatever the order or the spelling of the pool paths.
"""

from __future__ import annotations

import dataclasses
import hashlib
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
  iteration_selected: list[np.ndarray] = dataclasses.field(default_factory=list)  # per iteration
  threshold: float = 0.5       # the last iteration's selection threshold


def calibrate_threshold(scores_pos: np.ndarray, scores_neg: np.ndarray, floor: float) -> float:
  """The threshold that maximizes F1 of labelled math pages against labelled non-math pages
  (the calibration split of the pool, `recall.calibration_labels`).

  A fixed 0.5 assumes the seed looks like the pool's math pages; when it does not (competition
  problems vs. blueprint chapters and Lean books), the pool's math pages rank above its prose
  but score below 0.5. The cut is placed midway between the lowest kept math page and the
  highest non-math page below it, and never below `floor`.
  """
  pos, neg = np.sort(np.asarray(scores_pos, np.float64)), np.asarray(scores_neg, np.float64)
  if len(pos) == 0 or len(neg) == 0:
    return floor
  best_f1, best = -1.0, floor
  for t in np.unique(pos):
    tp = float((pos >= t).sum())
    fp = float((neg >= t).sum())
    f1 = 2 * tp / (2 * tp + fp + (len(pos) - tp))
    if f1 > best_f1:
      below = neg[neg < t]
      best_f1, best = f1, (t + below.max()) / 2 if len(below) else t
  return float(max(best, floor))


def stable_rank(keys: Sequence[str], salt: str) -> np.ndarray:
  """A uint64 per key, from blake2b(salt, key): sorting by it is a pseudo-random order of the
  documents that depends on their identity and the salt only (bottom-k sampling), so a page is
  drawn or not whatever its position in the input."""
  return np.array([int.from_bytes(hashlib.blake2b(f"{salt}\0{key}".encode(),
                                                  digest_size=8).digest(), "little")
                   for key in keys], np.uint64)


def token_view_key(hashes: np.ndarray) -> str:
  """The identity of a training example: a digest of its token hashes (two examples with the
  same key are the same example to the classifier)."""
  return hashlib.blake2b(np.ascontiguousarray(hashes, np.uint64).tobytes(),
                         digest_size=16).hexdigest()


def canonical_training_order(hash_arrays: Sequence[np.ndarray], salt: str) -> np.ndarray:
  """Indices of the training examples in an order that does not depend on how they were listed
  (SGD is order-dependent; `MathClassifier.train` shuffles the list it is given)."""
  keys = [token_view_key(h) for h in hash_arrays]
  return np.lexsort((np.array(keys), stable_rank(keys, salt)))


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


def select(scores: np.ndarray, n_tokens: np.ndarray, cfg: Any,
           threshold: float | None = None) -> np.ndarray:
  """Top-ranked pages: `threshold` mode keeps p >= threshold (default `cfg.threshold`);
  `budget` the best pages up to `token_budget` tokens (among those with p >= threshold)."""
  keep = scores >= (cfg.threshold if threshold is None else threshold)
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
               calibration: np.ndarray | None = None,
               doc_keys: Sequence[str] | None = None) -> RecallResult:
  """Runs `cfg.iterations` recall iterations over the pool (in memory).

  `doc_keys`: a stable identity per pool document (the pipeline passes the normalized-text
  hash); by default the digest of its token view. Negatives and folds are drawn by it.

  `calibration`: per pool document 1 (math), 0 (non-math) or -1 (unlabelled); with labelled
  documents of both kinds, each iteration's threshold is calibrated on them
  (`calibrate_threshold`) instead of the fixed `cfg.threshold`.
  """
  n_pool = len(pool_hashes)
  if doc_keys is None:
    doc_keys = [token_view_key(h) for h in pool_hashes]
  if len(doc_keys) != n_pool:
    raise ValueError(f"{len(doc_keys)} doc_keys for {n_pool} pool documents")
  doc_keys_N = np.array(doc_keys)
  reviewed = read_reviewed_prefixes(cfg.reviewed_prefixes)
  positives = list(seed_hashes)
  in_seed = np.zeros(n_pool, bool)   # pool pages added to the seed by domain discovery
  selected_prev = np.zeros(n_pool, bool)
  first_iteration = np.zeros(n_pool, np.int32)
  stats: list[dict] = []
  scores = np.zeros(n_pool, np.float32)
  selected = selected_prev
  model = None
  iteration_selected: list[np.ndarray] = []
  threshold = float(cfg.threshold)
  for iteration in range(1, cfg.iterations + 1):
    # Negatives: random pool pages (as in the paper, whatever their label) not in the seed,
    # plus any extra negatives given; drawn by identity (bottom-k of a salted hash).
    salt = f"{clf_config.seed}:{iteration}"
    candidates = np.flatnonzero(~in_seed)
    n_neg = int(min(len(candidates), max(1, round(cfg.negatives_per_positive * len(positives))),
                    cfg.max_pool_negatives_fraction * n_pool))
    draw = np.lexsort((doc_keys_N[candidates],
                       stable_rank(doc_keys_N[candidates], salt + ":negatives")))
    neg_pool = np.sort(candidates[draw[:n_neg]])
    folds = 2 if (cfg.crossfit and n_neg >= 2) else 1
    # Halves by rank, so the folds are balanced (n_neg // 2 and the rest).
    fold_rank = np.argsort(np.lexsort((doc_keys_N[neg_pool],
                                       stable_rank(doc_keys_N[neg_pool], salt + ":folds"))))
    fold_of = (fold_rank % folds).astype(np.int64)
    models, metrics, labelled_frequency = [], None, None
    for fold in range(folds):
      neg_docs = [pool_hashes[i] for i in neg_pool[fold_of == fold]] + list(extra_negatives)
      texts = positives + neg_docs
      labels = np.array([1] * len(positives) + [0] * len(neg_docs))
      order = canonical_training_order(texts, f"{salt}:{fold}:order")
      n_eval = int(round(cfg.heldout_fraction * len(texts))) if fold == 0 else 0
      eval_idx, train_idx = order[:n_eval], order[n_eval:]
      fold_config = dataclasses.replace(clf_config, seed=clf_config.seed + 1000 * iteration + fold)
      model = classifier_lib.MathClassifier.train([texts[i] for i in train_idx],
                                                  labels[train_idx], fold_config)
      if n_eval:
        eval_scores = model.predict_hashes([texts[i] for i in eval_idx])
        metrics = classifier_lib.binary_metrics(eval_scores, labels[eval_idx], cfg.threshold)
        if (labels[eval_idx] == 1).any():
          labelled_frequency = float(eval_scores[labels[eval_idx] == 1].mean())
      models.append(model)
    fold_scores = np.stack([m.predict_hashes(pool_hashes) for m in models])  # [folds, N]
    scores = fold_scores.mean(axis=0)
    if folds == 2:
      for fold in range(2):  # a sampled negative is scored by the model that did not see it
        idx = neg_pool[fold_of == fold]
        scores[idx] = fold_scores[1 - fold, idx]
    threshold = float(cfg.threshold)
    # p(math|x) = score / c >= threshold. Only when the negatives are unlabelled pool pages:
    # known negatives (negative_path) make the score p(math | x) already, and there the
    # correction would only lower the cut (to about threshold / 2 when c is near 0.5).
    if cfg.get("pu_correction") and labelled_frequency and not extra_negatives:
      threshold = float(cfg.threshold) * labelled_frequency
    if calibration is not None and (calibration == 1).any() and (calibration == 0).any():
      threshold = calibrate_threshold(scores[calibration == 1], scores[calibration == 0],
                                      cfg.threshold_floor)
    selected = select(scores, n_tokens, cfg, threshold)
    first_iteration[selected & (first_iteration == 0)] = iteration
    discovery = domain_discovery(urls, selected, cfg, reviewed)
    accepted = {a["prefix"] for a in discovery["accepted_prefixes"]}
    added = [i for i in range(n_pool) if not selected[i] and not in_seed[i]
             and under_prefixes(urls[i], accepted)]
    in_seed[added] = True
    positives.extend(pool_hashes[i] for i in added)
    overlap = (float((selected & selected_prev).sum() / max(selected_prev.sum(), 1))
               if iteration > 1 else None)
    iteration_selected.append(selected.copy())
    row = dict(iteration=iteration, threshold=round(threshold, 4),
               labelled_frequency=(None if labelled_frequency is None
                                   else round(labelled_frequency, 4)),
               positives=len(positives) - len(added),
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
    if model_dir:  # the threshold travels with the model (a Beam run scores with both)
      models[0].save(os.path.join(model_dir, f"iteration_{iteration}"), threshold=threshold)
    selected_prev = selected
  return RecallResult(scores, selected, first_iteration, stats, model, iteration_selected,
                      threshold)
