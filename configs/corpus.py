"""Math corpus engine (arXiv:2402.03300 §2.1): pool -> recalled, deduplicated, clean shards.

  python -m deepseekmath_jax.main --config=configs/corpus.py:local --workdir=DIR \
      --config.pool=POOL_DIR --config.seed_path=SEED_PATH

Variants: `local` (all cores, the paper's classifier settings), `beam` (same stages on Apache
Beam; pass runner flags in `beam_options`), `tiny` (small classifier, 2 iterations: tests).
`seed_path` is the positive seed text; `seed` is the integer RNG seed, as in every config.
"""

import ml_collections

from deepseekmath_jax import config_lib

_BENCHMARKS = ("gsm8k_test={data_dir}/gsm8k/test.jsonl:question,answer;"
               "math_test={data_dir}/math/math_test.jsonl:problem,solution;"
               "math500={data_dir}/math/math500/test.jsonl:problem,solution")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="local", tiny=False)
  tiny = a.tiny or a.variant == "tiny"
  c = ml_collections.ConfigDict()
  c.stage = "corpus"
  c.seed = 0                     # RNG seed (negative sampling, classifier init, MinHash)
  c.runner = "beam" if a.variant == "beam" else "local"
  c.beam_options = "--runner=DirectRunner"  # e.g. --runner=DataflowRunner --project=...
  c.pool = ""                    # WARC/WET/HTML/jsonl files or folders, comma-separated
  c.seed_path = ""               # positive math text: jsonl (text | problem+solution |
                                 # question+answer), .txt/.md, HTML; files or folders
  c.seed_max_docs = 500 if tiny else 0  # 0 = all
  c.seed_passage_words = 200     # longer seed texts (real pages) are cut into passages of this
                                 # many words, so a page weighs by its length (0 = off)
  c.negative_path = ""           # optional extra negatives (same formats as seed_path)
  c.labels_path = ""             # optional jsonl of {doc_id|source|file|url, label: math|non-math}:
                                 # precision/recall per recall iteration in the report
  c.classifier_path = ""         # beam: a saved classifier (<workdir>/classifier/iteration_N)
  c.data_dir = "../shared/data"  # where the default decontamination benchmarks live
  c.num_workers = 0              # processes for extraction; 0 = all cores
  c.batch_size = 8               # records per worker task
  c.num_shards = 2 if tiny else 16
  c.max_record_bytes = 5_000_000  # larger payloads are dropped as malformed (too_large)

  c.extract = ml_collections.ConfigDict(dict(
      min_chars=200,             # shorter extractions are dropped (too_short)
  ))
  c.dedup = ml_collections.ConfigDict(dict(
      url=True, exact=True, near=True,
      num_perm=128,              # MinHash permutations
      shingle_size=5,            # word shingles
      threshold=0.8,             # Jaccard similarity for near-duplicates
  ))
  # §2.1: "vector dimension 256, learning rate 0.1, the maximum length of word n-gram 3,
  # the minimum number of word occurrences 3, and the number of training epochs 3".
  c.classifier = ml_collections.ConfigDict(dict(
      # tiny: a few hundred examples are too few for 3 epochs at lr 0.1 (fastText advises
      # more epochs and a larger rate on small data).
      dim=64 if tiny else 256, lr=0.5 if tiny else 0.1, ngrams=3, min_count=3,
      epochs=10 if tiny else 3,
      balance=True,              # weight classes equally (the paper's seed was balanced)
      buckets=(1 << 15) if tiny else (1 << 18),  # hashed n-gram rows (not given in the paper)
      max_tokens=500 if tiny else 2000,          # words read per document
      # Token classes (<tex-command>, <math-span>, <math-symbol>, <theorem-word>) and TeX's
      # \( \) \[ \] read as `$`: the classifier sees mathematics, not only word n-grams.
      math_features=True,
  ))
  c.recall = ml_collections.ConfigDict(dict(
      iterations=2 if tiny else 4,     # §2.1: four iterations
      negatives_per_positive=1.0,      # §2.1: 500K positives, 500K negatives
      max_pool_negatives_fraction=0.5,  # at most this share of the pool is drawn as negatives
      crossfit=True,                   # score drawn negatives with the other fold's model
      heldout_fraction=0.1,            # classifier metrics on a held-out split
      select="threshold",              # threshold | budget (top pages up to token_budget)
      threshold=0.5,                   # p(math) to keep a page, unless calibrated:
      # a labels file (labels_path format) of pool pages set aside to calibrate: each
      # iteration's threshold maximizes F1 on them (recall.calibrate_threshold), >= the floor.
      # The labelled evaluation (labels_path) leaves these pages out.
      calibration_labels="",
      threshold_floor=0.05,
      # Positive-unlabelled correction (Elkan & Noto 2008): the drawn negatives are unlabelled
      # pool pages, so the score estimates p(labelled | x) = c p(math | x), with c the mean
      # score of held-out seed documents (heldout_fraction > 0); keep p(math | x) >= threshold,
      # i.e. score >= c threshold. calibration_labels, when given, override it. Not applied
      # when negative_path gives known negatives (the score is then p(math | x) itself).
      pu_correction=True,
      token_budget=0,
      domain_threshold=0.10,           # §2.1: domains with over 10% of pages collected
      min_domain_pages=3,
      prefix_depth=1,                  # URL path segments in a proposed prefix
      auto_prefixes=True,              # accept prefixes automatically ...
      prefix_threshold=0.5,            # ... whose pages were at least this share collected
      min_prefix_pages=2,
      reviewed_prefixes="",            # file of accepted prefixes (human review)
  ))
  c.decontam = ml_collections.ConfigDict(dict(
      enabled=True,
      ngram=10,                  # §2.1: exact 10-gram match
      min_short=3,               # benchmark texts of 3..9 grams: whole-text match
      max_text_frequency=3,      # n-grams in more texts of one benchmark are generic: unused
      prune_markup=True,         # so are n-grams of TeX markup and one-letter variables only
      benchmarks=_BENCHMARKS,    # name=path:field,field;...  ({data_dir} is substituted)
  ))
  c.report = ml_collections.ConfigDict(dict(
      sentencepiece_model="",    # token counts with this model; default a regex tokenizer
      top_k=20, examples=5,
  ))
  return c
