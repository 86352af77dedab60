"""Tests for the grain pipelines (deepseekmath_jax.data.pipeline/packing/sources)."""

import collections
import json
import logging
import os

from array_record.python import array_record_module
import ml_collections
import numpy as np
import pytest

from deepseekmath_jax.data import packing
from deepseekmath_jax.data import pipeline
from deepseekmath_jax.data import sources
from deepseekmath_jax.data import tokenizer as tok_lib

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
TEXTS = [f"doc {i}: " + " ".join(["x"] * (i % 17)) + f" = {i * 7}." for i in range(60)]


@pytest.fixture(scope="module")
def tok():
  return tok_lib.train_sentencepiece(TEXTS + ["a b c", "question answer ?"], None,
                                     vocab_size=320)


def memory_config(texts=TEXTS, **overrides):
  cfg = pipeline.default_data_config()
  cfg.sources = ml_collections.ConfigDict(dict(docs=sources.source_config("memory",
                                                                          texts=list(texts))))
  cfg.update(overrides)
  return cfg


def segments(batch):
  """(row, segment id, column slice) of every packed document in a batch."""
  for row in range(batch["segment_ids"].shape[0]):
    seg = batch["segment_ids"][row]
    for s in np.unique(seg[seg > 0]):
      cols = np.flatnonzero(seg == s)
      assert np.all(np.diff(cols) == 1), "a document is not contiguous in its row"
      yield row, s, slice(cols[0], cols[-1] + 1)


def take(iterator, n):
  return [next(iterator) for _ in range(n)]


def assert_batches_equal(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for k in x:
      np.testing.assert_array_equal(x[k], y[k], err_msg=k)


def test_pretrain_packing_contract(tok):
  it = pipeline.make_train_iterator(memory_config(), tok, seed=0, batch_size=4, seq_len=64,
                                    process_index=0, process_count=1)
  seen = 0
  for batch in take(it, 6):
    packing.check_batch_contract(batch, 4, 64)
    for row, _, cols in segments(batch):
      inputs, targets = batch["inputs"][row, cols], batch["targets"][row, cols]
      mask, positions = batch["loss_mask"][row, cols], batch["positions"][row, cols]
      np.testing.assert_array_equal(positions, np.arange(len(inputs)))  # positions restart
      assert inputs[0] == tok.bos_id and inputs[-1] == tok.eos_id
      assert tok.decode(inputs[1:-1]) in TEXTS  # a whole document, untouched
      np.testing.assert_array_equal(targets[:-1], inputs[1:])  # next token, same document
      assert mask[-1] == 0 and np.all(mask[:-1] == 1)  # no target across documents
      seen += 1
    padding = batch["segment_ids"] == 0
    assert np.all(batch["loss_mask"][padding] == 0)
  assert seen > 24  # several documents per row


def test_long_documents_are_cut_without_losing_targets(tok):
  long_text = " ".join(str(i % 10) for i in range(120))
  it = pipeline.make_train_iterator(memory_config([long_text], shuffle=False, num_epochs=1), tok,
                                    seed=0, batch_size=1, seq_len=32, process_index=0,
                                    process_count=1)
  ids = tok.encode(long_text, add_bos=True, add_eos=True)
  pieces = list(it)  # one piece per batch (each fills its row); packing may reorder them
  got = sorted([tuple(b["inputs"][0][b["segment_ids"][0] > 0]) for b in pieces])
  want = sorted(tuple(ids[s:s + 32]) for s in range(0, len(ids), 32))
  assert got == want
  masked_targets = sum(int(b["loss_mask"].sum()) for b in pieces)
  assert masked_targets == len(ids) - 1  # every transition of the document is trained once
  for b in pieces:
    start = next(s for s in range(0, len(ids), 32) if ids[s] == b["inputs"][0, 0] and
                 list(ids[s:s + 32]) == list(b["inputs"][0][b["segment_ids"][0] > 0]))
    if start + 32 < len(ids):  # a cut piece: its last target is the document's next token
      assert b["loss_mask"][0, -1] == 1 and b["targets"][0, -1] == ids[start + 32]


def test_sft_loss_mask_is_exactly_the_response(tok):
  pairs = [{"question": f"question {i} ?", "answer": f"answer {i * 3}"} for i in range(20)]
  cfg = memory_config(pairs, mode="sft")
  it = pipeline.make_sft_iterator(cfg, tok, seed=1, batch_size=2, seq_len=64, process_index=0,
                                  process_count=1)
  answers = {p["question"]: p["answer"] for p in pairs}
  checked = 0
  for batch in take(it, 4):
    packing.check_batch_contract(batch, 2, 64)
    for row, _, cols in segments(batch):
      inputs, targets = batch["inputs"][row, cols], batch["targets"][row, cols]
      mask = batch["loss_mask"][row, cols].astype(bool)
      prompt = tok.decode(inputs[~np.roll(mask, 1)])  # tokens that are not response targets
      assert inputs[0] == tok.bos_id and prompt.startswith("User: question ")
      question = prompt[len("User: "):prompt.index("\n\nAssistant:")]
      # The trained targets are exactly " {answer}" + EOS.
      assert targets[mask][-1] == tok.eos_id
      assert tok.decode(targets[mask][:-1]) == f" {answers[question]}"
      assert tok.decode(inputs[:np.argmax(mask) + 1]).endswith("\n\nAssistant:")
      checked += 1
  assert checked >= 8
  with pytest.raises(ValueError, match="needs data.mode='sft'"):
    pipeline.make_sft_iterator(memory_config(), tok, seed=0, batch_size=1, seq_len=8,
                               process_index=0, process_count=1)


def test_mixture_token_proportions_match_weights(tok):
  short = ["a b c"] * 50
  long = [" ".join(["b"] * 30)] * 50
  cfg = pipeline.default_data_config()
  cfg.sources = ml_collections.ConfigDict(dict(
      short=sources.source_config("memory", texts=short, weight=0.7),
      long=sources.source_config("memory", texts=long, weight=0.3)))
  len_short, len_long = (len(tok.encode(t[0], add_bos=True, add_eos=True)) for t in (short, long))

  def short_token_share(unit):
    cfg.mixture_unit = unit
    it = pipeline.make_train_iterator(cfg, tok, seed=3, batch_size=8, seq_len=64,
                                      process_index=0, process_count=1)
    counts = collections.Counter()
    for batch in take(it, 12):
      for row, _, cols in segments(batch):
        n = cols.stop - cols.start
        assert n in (len_short, len_long)
        counts["short" if n == len_short else "long"] += n
    return counts["short"] / (counts["short"] + counts["long"])

  assert abs(short_token_share("tokens") - 0.7) < 0.03
  # Per document, 70% of the documents are short ones, so far fewer than 70% of the tokens.
  expected = 0.7 * len_short / (0.7 * len_short + 0.3 * len_long)
  assert abs(short_token_share("documents") - expected) < 0.03
  cfg.mixture_unit = "tokens"
  props = pipeline.mixture_proportions(cfg, tok, 64)
  assert props["short"] / props["long"] == pytest.approx((0.7 / len_short) / (0.3 / len_long))


def test_resume_from_state_gives_the_same_batches(tok):
  cfg = memory_config()
  kwargs = dict(seed=5, batch_size=3, seq_len=48, process_index=0, process_count=1)
  it = pipeline.make_train_iterator(cfg, tok, **kwargs)
  take(it, 7)  # crosses an epoch (60 docs) and several packing rounds
  state = json.loads(json.dumps(it.get_state()))  # what a checkpoint stores
  expected = take(it, 5)
  fresh = pipeline.make_train_iterator(cfg, tok, **kwargs)
  fresh.set_state(state)
  assert_batches_equal(take(fresh, 5), expected)
  same_seed = pipeline.make_train_iterator(cfg, tok, **kwargs)
  other_seed = pipeline.make_train_iterator(cfg, tok, **{**kwargs, "seed": 6})
  first = next(same_seed)["inputs"]
  np.testing.assert_array_equal(first, next(pipeline.make_train_iterator(cfg, tok, **kwargs))[
      "inputs"])  # the same seed gives the same data...
  assert not np.array_equal(first, next(other_seed)["inputs"])  # ...another seed does not


def test_resume_with_worker_processes(tok):
  cfg = memory_config(worker_count=1)
  kwargs = dict(seed=2, batch_size=2, seq_len=48, process_index=0, process_count=1)
  it = pipeline.make_train_iterator(cfg, tok, **kwargs)
  try:
    take(it, 3)
    state = it.get_state()
    expected = take(it, 4)
  finally:
    it.close()
  fresh = pipeline.make_train_iterator(cfg, tok, **kwargs)
  try:
    fresh.set_state(state)
    assert_batches_equal(take(fresh, 4), expected)
  finally:
    fresh.close()
  for batch in expected:
    packing.check_batch_contract(batch, 2, 48)


def documents_seen(tok, cfg, **kwargs):
  docs = []
  for batch in pipeline.make_train_iterator(cfg, tok, seed=0, batch_size=1, seq_len=64,
                                            **kwargs):
    docs += [tok.decode(batch["inputs"][row, cols][1:-1]) for row, _, cols in segments(batch)]
  return docs


def test_process_sharding_is_disjoint_and_complete_and_epochs_repeat(tok):
  cfg = memory_config(num_epochs=1)
  shards = [documents_seen(tok, cfg, process_index=p, process_count=3) for p in range(3)]
  assert sum(map(len, shards)) == len(TEXTS)
  assert sorted(sum(shards, [])) == sorted(TEXTS)
  assert not set(shards[0]) & set(shards[1])
  two_epochs = documents_seen(tok, memory_config(num_epochs=2), process_index=0, process_count=1)
  assert collections.Counter(two_epochs) == collections.Counter(TEXTS * 2)


def test_bad_jsonl_lines_are_counted_and_named(tmp_path, caplog):
  path = tmp_path / "train.jsonl"
  path.write_text("\n".join([
      json.dumps({"question": "1+1?", "answer": "2"}),
      "{not json",
      json.dumps({"question": "no answer"}),
      "",
      json.dumps(["a", "list"]),
      json.dumps({"question": "2+2?", "answer": 4}),
      json.dumps({"question": "3+3?", "answer": "6"}),
  ]) + "\n", encoding="utf-8")
  with caplog.at_level(logging.WARNING):
    src = sources.JsonlSource(str(path), required_fields=("question", "answer"))
  assert len(src) == 2 and src[1] == {"question": "3+3?", "answer": "6"}
  report = src.report.as_dict()
  assert report["lines"] == 7 == report["kept"] + sum(report["dropped"].values())
  assert report["dropped"] == {"invalid JSON": 1, "missing field 'answer'": 1, "blank line": 1,
                               "not a JSON object": 1, "field 'answer' is a int, not text": 1}
  assert f"{path}:2: invalid JSON" in caplog.text
  assert f"{path}:3: missing field 'answer'" in caplog.text
  with pytest.raises(sources.BadRecordError, match=f"{path}:2: invalid JSON"):
    sources.JsonlSource(str(path), required_fields=("question", "answer"), strict=True)
  with pytest.raises(FileNotFoundError, match="missing.jsonl"):
    sources.JsonlSource(str(tmp_path / "missing.jsonl"))


def write_array_record(path, records):
  writer = array_record_module.ArrayRecordWriter(str(path), "group_size:1")
  for record in records:
    writer.write(record)
  writer.close()


def test_array_record_shards_with_a_bad_record(tok, tmp_path, caplog):
  (tmp_path / "shards").mkdir()
  good = [json.dumps({"text": t}).encode() for t in TEXTS[:20]]
  write_array_record(tmp_path / "shards" / "part-00000.array_record", good[:10])
  write_array_record(tmp_path / "shards" / "part-00001.array_record",
                     good[10:15] + [b"\xff not json"] + good[15:])
  src = sources.ArrayRecordSource(str(tmp_path))  # the corpus engine's <dir>/shards layout
  assert len(src) == 21 and src[12]["text"] == TEXTS[12]
  with pytest.raises(sources.BadRecordError, match=r"part-00001.array_record\[record 5\]"):
    src[15]  # pylint: disable=pointless-statement
  cfg = pipeline.default_data_config()
  cfg.num_epochs = 1
  cfg.sources = ml_collections.ConfigDict(dict(corpus=sources.source_config(
      "array_record", path=str(tmp_path))))
  with caplog.at_level(logging.WARNING):
    docs = documents_seen(tok, cfg, process_index=0, process_count=1)
  assert sorted(docs) == sorted(TEXTS[:20])
  assert "part-00001.array_record[record 5]: invalid JSON" in caplog.text


def test_tfds_data_source(tok, tmp_path):
  import data_toy_tfds_builder  # pylint: disable=g-import-not-at-top  (tests/ support module)
  name = data_toy_tfds_builder.build(str(tmp_path))
  cfg = pipeline.default_data_config()
  cfg.sources = ml_collections.ConfigDict(dict(toy=sources.source_config(
      "tfds", tfds_name=name, tfds_data_dir=str(tmp_path), split="train", eval_split="test")))
  it = pipeline.make_train_iterator(cfg, tok, seed=0, batch_size=2, seq_len=64,
                                    process_index=0, process_count=1)
  text = tok.decode(next(it)["inputs"][0])
  assert "train document" in text
  evals = pipeline.make_eval_batches(cfg, tok, batch_size=2, seq_len=64, process_index=0,
                                     process_count=1)
  docs = [tok.decode(b["inputs"][r, c][1:-1]) for b in evals for r, _, c in segments(b)]
  assert sorted(docs) == sorted(f"test document {i}: {i} + {i} = {2 * i}." for i in range(8))


def test_eval_batches_are_finite_deterministic_and_split_across_processes(tok):
  cfg = memory_config(TEXTS[:40], eval_holdout_records=15)
  kwargs = dict(batch_size=2, seq_len=64)
  whole = pipeline.make_eval_batches(cfg, tok, process_index=0, process_count=1, **{
      **kwargs, "batch_size": 4})
  assert_batches_equal(whole, pipeline.make_eval_batches(
      cfg, tok, process_index=0, process_count=1, **{**kwargs, "batch_size": 4}))
  docs = [tok.decode(b["inputs"][r, c][1:-1]) for b in whole for r, _, c in segments(b)]
  assert sorted(docs) == sorted(TEXTS[:15])  # the held-out records, each once
  halves = [pipeline.make_eval_batches(cfg, tok, process_index=p, process_count=2, **kwargs)
            for p in range(2)]
  assert len(halves[0]) == len(halves[1]) == len(whole)
  for b0, b1, w in zip(*halves, whole):
    for k in w:
      np.testing.assert_array_equal(np.concatenate([b0[k], b1[k]]), w[k])
  for b in whole:
    packing.check_batch_contract(b, 4, 64)
  train_docs = documents_seen(tok, memory_config(TEXTS[:40], eval_holdout_records=15,
                                                 num_epochs=1), process_index=0, process_count=1)
  assert sorted(train_docs) == sorted(TEXTS[15:40])  # held-out records never trained on
  with pytest.raises(ValueError, match="no held-out data"):
    pipeline.make_eval_batches(memory_config(), tok, process_index=0, process_count=1, **kwargs)


@pytest.mark.skipif(not os.path.exists(os.path.join(SHARED_DATA, "gsm8k", "train.jsonl")),
                    reason="needs ../shared/data/gsm8k")
def test_gsm8k_sft_example(tok):
  cfg = pipeline.gsm8k_sft_example(SHARED_DATA)
  it = pipeline.make_sft_iterator(cfg, tok, seed=0, batch_size=2, seq_len=512, process_index=0,
                                  process_count=1)
  batch = next(it)
  packing.check_batch_contract(batch, 2, 512)
  response = tok.decode(batch["targets"][0][batch["loss_mask"][0] > 0])
  assert "####" in response and "User:" not in response


def test_default_config_runs_on_synthetic_text(tmp_path):
  cfg = pipeline.default_data_config()
  tok = tok_lib.build_tokenizer(tok_lib.default_tokenizer_config(), cfg, workdir=str(tmp_path))
  it = pipeline.make_train_iterator(cfg, tok, seed=0, batch_size=2, seq_len=128,
                                    process_index=0, process_count=1)
  batch = next(it)
  packing.check_batch_contract(batch, 2, 128)
  assert (batch["segment_ids"] > 0).mean() > 0.8
  assert len(pipeline.make_eval_batches(cfg, tok, batch_size=2, seq_len=128, process_index=0,
                                        process_count=1)) > 0


def test_check_batch_contract_catches_cross_document_loss():
  batch = packing.empty_rows(1, 8, 0)
  batch["segment_ids"][0] = [1, 1, 1, 2, 2, 0, 0, 0]
  batch["loss_mask"][0] = [1, 1, 1, 1, 0, 0, 0, 0]
  with pytest.raises(ValueError, match="cross-document"):
    packing.check_batch_contract(batch, 1, 8)
  batch["loss_mask"][0, 2] = 0
  packing.check_batch_contract(batch, 1, 8)
  with pytest.raises(ValueError, match="expected int32"):
    packing.check_batch_contract({**batch, "inputs": batch["inputs"].astype(np.int64)}, 1, 8)
