r"""The demo's data: a web-like document pool for the corpus engine, and the task splits.

The paper builds its corpus from Common Crawl with a seed-trained classifier, dedup and
benchmark decontamination (arXiv:2402.03300 §2.1), then fine-tunes on chain-of-thought
problems (§3) and runs RL on their questions (§4.2), and evaluates on held-out benchmarks.
`build` writes the same kinds of files from text the project makes itself, so the demo needs
no download:

  pool.jsonl     the "crawl": math documents (2 to 5 generated problems with solutions each,
                 and arithmetic drill sheets: the steps of other generated problems, one
                 `a op b = c` per line, the facts a small model has to learn), non-math prose (standard-library docstrings), and planted problems for the
                 engine to find: exact copies and near-duplicates of math documents (a
                 mirror's header line added) and documents containing a held-out evaluation
                 question (contamination). Every document has a URL.
  seed.jsonl     positive math text for the classifier (its own problem stream, like the
                 paper's OpenWebMath seed).
  negatives.jsonl  prose kept out of the pool: the classifier's known non-math pages. The
                 paper's negatives are random Common Crawl pages, nearly all non-math; this
                 pool is mostly math (it has to feed pretraining), so random pool pages are
                 not negatives and the classifier takes most of its negatives from here.
  eval.jsonl     the held-out evaluation problems (`question`, `answer`, `solution`, ...),
                 also the decontamination benchmark.
  sft.jsonl      chat-format SFT pairs: `question` = problem + the zero-shot CoT instruction
                 (so SFT, RL and evaluation prompts are the same string), `answer` = solution.
  rl.jsonl       RL questions in the same chat form with the bare integer `answer`.
  manifest.json  counts and the URLs of every planted document, to check the engine's work.

Every split is its own seeded problem stream; training splits exclude every evaluation
question, and the SFT and RL splits are also passed through the corpus engine's 10-gram
decontaminator (the dropped count is in the manifest). All outputs are deterministic
functions of the config.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any, Iterable

from deepseekmath_jax.corpus import decontam
from deepseekmath_jax.data import synthetic
from deepseekmath_jax.demo import word_problems
from deepseekmath_jax.evaluation import prompts

# Standard-library modules whose docstrings make the prose documents (fixed and sorted: the
# pool depends on them; docstrings follow the Python version).
PROSE_MODULES = ("abc", "argparse", "array", "ast", "asyncio", "base64", "bdb", "binascii",
                 "bisect", "builtins", "bz2", "calendar", "cmath", "cmd", "code", "codecs",
                 "codeop", "collections", "compileall", "concurrent.futures", "configparser",
                 "contextlib", "copy", "copyreg", "csv", "ctypes", "dataclasses", "datetime",
                 "decimal", "difflib", "dis", "doctest", "email", "enum", "filecmp", "fileinput",
                 "fnmatch", "fractions", "ftplib", "functools", "gc", "getopt", "getpass",
                 "gettext", "glob", "graphlib", "gzip", "hashlib", "heapq", "hmac", "html",
                 "html.parser", "http.client", "http.server", "imaplib", "importlib", "inspect",
                 "io", "ipaddress", "itertools", "json", "linecache", "locale", "logging",
                 "lzma", "mailbox", "math", "mimetypes", "mmap", "multiprocessing", "netrc",
                 "numbers", "operator", "optparse", "os", "os.path", "pathlib", "pdb", "pickle",
                 "pickletools", "pkgutil", "platform", "plistlib", "poplib", "pprint", "profile",
                 "pstats", "queue", "quopri", "random", "re", "reprlib", "runpy", "sched",
                 "secrets", "select", "selectors", "shelve", "shlex", "shutil", "signal",
                 "smtplib", "socket", "socketserver", "sqlite3", "ssl", "stat", "statistics",
                 "string", "struct", "subprocess", "symtable", "sys", "sysconfig", "tabnanny",
                 "tarfile", "tempfile", "textwrap", "threading", "time", "timeit", "tokenize",
                 "traceback", "tracemalloc", "types", "typing", "unicodedata", "unittest",
                 "urllib.parse", "urllib.request", "uuid", "warnings", "wave", "weakref",
                 "xml.dom.minidom", "xml.etree.ElementTree", "zipfile", "zipimport", "zlib")

# Offsets that give each split its own problem stream.
_STREAMS = {"eval": 1, "pool": 2, "seed": 3, "sft": 4, "rl": 5, "drill": 6}
FILES = ("pool.jsonl", "seed.jsonl", "negatives.jsonl", "eval.jsonl", "sft.jsonl", "rl.jsonl", "manifest.json")


def difficulty(cfg: Any) -> word_problems.Difficulty:
  return word_problems.Difficulty(min_steps=cfg.min_steps, max_steps=cfg.max_steps,
                                  max_number=cfg.max_number, max_factor=cfg.max_factor)


def chat_question(question: str) -> str:
  """The problem as the chat user turn of the paper's zero-shot CoT prompt (§5.1 / Table 5)."""
  return f"{question}\n{prompts.ZERO_SHOT_COT_SUFFIX}"


def prose_documents(min_chars: int) -> list[str]:
  """Docstrings of PROSE_MODULES, a module's consecutive docstrings joined to >= min_chars."""
  docs: list[str] = []
  for module in PROSE_MODULES:
    current = ""
    for doc in synthetic.stdlib_docstrings((module,)):
      current = f"{current}\n\n{doc}" if current else doc
      if len(current) >= min_chars:
        docs.append(current)
        current = ""
  return docs


def _write_jsonl(path: str, rows: Iterable[dict]) -> int:
  n = 0
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    for row in rows:
      f.write(json.dumps(row, ensure_ascii=False) + "\n")
      n += 1
  os.replace(path + ".tmp", path)
  return n


def _split(cfg: Any, name: str, n: int, exclude: set[str]) -> list[word_problems.WordProblem]:
  return word_problems.generate(n, seed=cfg.seed * 10 + _STREAMS[name], difficulty=difficulty(cfg),
                                exclude=exclude)


def _decontaminate(problems: list[word_problems.WordProblem], checker: decontam.Decontaminator
                   ) -> tuple[list[word_problems.WordProblem], int]:
  kept = [p for p in problems if not checker.check(p.question)]
  return kept, len(problems) - len(kept)


def build(cfg: Any, out_dir: str) -> dict[str, Any]:
  """Writes FILES into `out_dir` per `cfg` (configs/pipeline.py `data`); returns the manifest."""
  os.makedirs(out_dir, exist_ok=True)
  rng = random.Random(f"pool/{cfg.seed}")

  eval_problems = _split(cfg, "eval", cfg.eval_problems, set())
  eval_questions = {p.question for p in eval_problems}
  eval_path = os.path.join(out_dir, "eval.jsonl")
  _write_jsonl(eval_path, (dict(id=f"demo/{i}", question=p.question, answer=str(p.answer),
                                solution=p.solution, template=p.template, num_steps=p.num_steps)
                           for i, p in enumerate(eval_problems)))
  checker = decontam.Decontaminator([decontam.Benchmark("demo_eval", eval_path, ("question",))],
                                    n=cfg.decontam_ngram)

  # Math documents of the pool, each 2..5 problems.
  sizes = [rng.randint(cfg.problems_per_doc_min, cfg.problems_per_doc_max)
           for _ in range(cfg.math_docs)]
  pool_problems = _split(cfg, "pool", sum(sizes), eval_questions)
  math_docs, start = [], 0
  for i, size in enumerate(sizes):
    text = "\n\n".join(p.as_text() for p in pool_problems[start:start + size])
    start += size
    math_docs.append(dict(url=f"https://worksheets.example.org/practice/{i:06d}", text=text))

  drill_problems = _split(cfg, "drill", cfg.drill_docs * cfg.drill_problems_per_doc,
                          eval_questions)
  for i in range(cfg.drill_docs):
    chunk = drill_problems[i * cfg.drill_problems_per_doc:(i + 1) * cfg.drill_problems_per_doc]
    text = "Arithmetic practice.\n" + "\n".join(f"{e}." for p in chunk for e in p.equations)
    math_docs.append(dict(url=f"https://worksheets.example.org/drills/{i:06d}", text=text))

  # Prose: some into the pool, others (never in the pool) as the classifier's known negatives.
  prose_texts = prose_documents(cfg.prose_min_chars)
  rng.shuffle(prose_texts)
  if cfg.prose_docs + cfg.negative_docs > len(prose_texts):
    raise ValueError(f"data.prose_docs + data.negative_docs = {cfg.prose_docs + cfg.negative_docs}"
                     f" but the standard library gives {len(prose_texts)} prose documents")
  prose = [dict(url=f"https://docs.example.org/python/{i:05d}", text=t)
           for i, t in enumerate(prose_texts[:cfg.prose_docs])]
  _write_jsonl(os.path.join(out_dir, "negatives.jsonl"),
               (dict(text=t) for t in prose_texts[cfg.prose_docs:
                                                   cfg.prose_docs + cfg.negative_docs]))

  # Planted documents: what the corpus engine must remove.
  picks = rng.sample(range(cfg.math_docs), cfg.exact_duplicates + cfg.near_duplicates +
                     cfg.contaminated_docs)
  exact = [dict(url=f"https://copy.example.net/{i:06d}", text=math_docs[i]["text"])
           for i in picks[:cfg.exact_duplicates]]
  near = [dict(url=f"https://mirror.example.net/{i:06d}",
               text=f"Mirrored worksheet {i}.\n\n" + math_docs[i]["text"])
          for i in picks[cfg.exact_duplicates:cfg.exact_duplicates + cfg.near_duplicates]]
  leaked = rng.sample(eval_problems, cfg.contaminated_docs)
  contaminated = []
  for j, (i, p) in enumerate(zip(picks[cfg.exact_duplicates + cfg.near_duplicates:], leaked)):
    paragraphs = math_docs[i]["text"].split("\n\n")
    paragraphs[rng.randrange(len(paragraphs))] = p.as_text()
    contaminated.append(dict(url=f"https://answers.example.com/leak/{j:04d}",
                             text="\n\n".join(paragraphs)))

  documents = math_docs + prose + exact + near + contaminated
  rng.shuffle(documents)
  n_pool = _write_jsonl(os.path.join(out_dir, "pool.jsonl"), documents)

  seed_problems = _split(cfg, "seed", cfg.seed_docs * 3, eval_questions)
  _write_jsonl(os.path.join(out_dir, "seed.jsonl"),
               (dict(text="\n\n".join(p.as_text() for p in seed_problems[k:k + 3]))
                for k in range(0, len(seed_problems), 3)))

  sft, sft_dropped = _decontaminate(_split(cfg, "sft", cfg.sft_examples, eval_questions), checker)
  _write_jsonl(os.path.join(out_dir, "sft.jsonl"),
               (dict(question=chat_question(p.question), answer=p.solution) for p in sft))
  rl, rl_dropped = _decontaminate(_split(cfg, "rl", cfg.rl_questions, eval_questions), checker)
  _write_jsonl(os.path.join(out_dir, "rl.jsonl"),
               (dict(question=chat_question(p.question), answer=str(p.answer)) for p in rl))

  manifest = dict(
      pool_documents=n_pool, math_documents=len(math_docs), math_problems=len(pool_problems),
      drill_documents=cfg.drill_docs,
      prose_documents=len(prose), negative_documents=cfg.negative_docs,
      planted_exact_duplicates=[dict(copy=d["url"], original=math_docs[i]["url"])
                                for d, i in zip(exact, picks)],
      planted_near_duplicates=[dict(copy=d["url"], original=math_docs[i]["url"])
                               for d, i in zip(near, picks[cfg.exact_duplicates:])],
      planted_contaminated=[d["url"] for d in contaminated],
      seed_documents=-(-len(seed_problems) // 3), eval_problems=len(eval_problems),
      sft_examples=len(sft), sft_decontaminated=sft_dropped, rl_questions=len(rl),
      rl_decontaminated=rl_dropped, decontam_ngram=cfg.decontam_ngram)
  with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f, indent=1)
  return manifest


def read_eval_problems(out_dir: str, limit: int = 0) -> list[Any]:
  """eval.jsonl as `evaluation.benchmarks.Problem`s (subject = template, level = steps)."""
  from deepseekmath_jax.evaluation import benchmarks  # pylint: disable=g-import-not-at-top
  out = []
  with open(os.path.join(out_dir, "eval.jsonl"), encoding="utf-8") as f:
    for line in f:
      row = json.loads(line)
      out.append(benchmarks.Problem(id=row["id"], question=row["question"],
                                    reference=row["answer"], subject=row["template"],
                                    level=row["num_steps"], raw=row))
  return out[:limit] if limit else out
