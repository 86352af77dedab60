"""Config helpers shared by configs/*.py: argument parsing, model variants, axis rules.

Imports only ml_collections so configs load in milliseconds with no side effects.
"""

from __future__ import annotations

import ml_collections

# Logical axis name -> mesh axes. The only table that maps model names onto the mesh
# (`data`, `fsdp`, `tensor`); model code names logical axes only.
AXIS_RULES: tuple[tuple[str, object], ...] = (
    # Parameters.
    ("embed", "fsdp"),
    ("vocab", "tensor"),
    ("mlp", "tensor"),
    ("heads", "tensor"),
    ("kv_heads", "tensor"),
    ("head_dim", None),
    ("norm", None),
    ("layers", None),
    # Activations: batch over data+fsdp; the model dimension replicated inside a block.
    ("act_batch", ("data", "fsdp")),
    ("act_seq", None),
    ("act_embed", None),
    ("act_heads", "tensor"),
    ("act_kv_heads", "tensor"),
    ("act_mlp", "tensor"),
    ("act_vocab", "tensor"),
)

# Architectures. `deepseekmath_7b` is the official config.json of deepseek-math-7b-base
# (arXiv:2402.03300 §2.3; LlamaForCausalLM, MHA, untied, 6,910,365,696 parameters).
MODEL_VARIANTS: dict[str, dict] = {
    "tiny": dict(vocab_size=256, num_layers=2, embed_dim=64, num_heads=4, num_kv_heads=2,
                 head_dim=16, mlp_dim=128, max_seq_len=256, tie_embeddings=False),
    "small": dict(vocab_size=4096, num_layers=6, embed_dim=384, num_heads=6, num_kv_heads=6,
                  head_dim=64, mlp_dim=1024, max_seq_len=1024, tie_embeddings=False),
    "1b": dict(vocab_size=102400, num_layers=16, embed_dim=2048, num_heads=16,
               num_kv_heads=16, head_dim=128, mlp_dim=5504, max_seq_len=4096,
               tie_embeddings=False),
    "deepseekmath_7b": dict(vocab_size=102400, num_layers=30, embed_dim=4096, num_heads=32,
                            num_kv_heads=32, head_dim=128, mlp_dim=11008,
                            max_seq_len=4096, tie_embeddings=False),
}


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """Parses a config argument like `tiny` or `variant=7b,steps=10` (big_vision style).

  A bare word `w` sets `w=True` if `w` is a declared boolean default, else `variant=w`.
  Unknown keys are an error naming the key.
  """
  out = dict(defaults)
  for part in filter(None, (arg or "").split(",")):
    key, sep, value = part.partition("=")
    key = key.strip()
    if not sep:
      if isinstance(defaults.get(key), bool):
        out[key] = True
        continue
      key, value = "variant", key
    if key not in defaults:
      raise ValueError(f"unknown config argument {key!r} in {arg!r}; known: {sorted(defaults)}")
    default = defaults[key]
    if isinstance(default, bool):
      out[key] = value.strip().lower() in ("1", "true", "yes")
    elif isinstance(default, int):
      out[key] = int(value)
    elif isinstance(default, float):
      out[key] = float(value)
    else:
      out[key] = value.strip()
  return ml_collections.ConfigDict(out)


def model_config(variant: str, **overrides) -> ml_collections.ConfigDict:
  """The `config.model` sub-dict for an architecture variant (see MODEL_VARIANTS)."""
  if variant not in MODEL_VARIANTS:
    raise ValueError(f"unknown model variant {variant!r}; known: {sorted(MODEL_VARIANTS)}")
  cfg = dict(
      rope_theta=10000.0,       # RoPE base θ (HF rope_theta)
      norm_eps=1e-6,            # RMSNorm ε (HF rms_norm_eps)
      param_dtype="float32",    # storage dtype of parameters
      dtype="float32",          # compute dtype of activations (bfloat16 on accelerators)
      remat="none",             # none | block (jax.checkpoint each block)
      scan_layers=False,        # nnx.scan over stacked layers (fast compile for deep models)
      attention="xla",          # xla (einsum) | dot_product_attention (jax.nn) | cudnn
                                # (jax.nn's cuDNN flash attention, GPU); model/layers.py
  )
  cfg.update(MODEL_VARIANTS[variant])
  cfg.update(overrides)
  return ml_collections.ConfigDict(cfg)


def mesh_config(data: int = -1, fsdp: int = 1, tensor: int = 1) -> ml_collections.ConfigDict:
  """Mesh sizes per axis; -1 means "the remaining devices"."""
  return ml_collections.ConfigDict(dict(data=data, fsdp=fsdp, tensor=tensor))


def axis_rules() -> tuple:
  return AXIS_RULES


# ----------------------------------------------------------------------------------------------
# Trainer config blocks shared by configs/pretrain.py and configs/sft.py (and usable by GRPO).
# The data and tokenizer blocks carry the keys data/pipeline.py and data/tokenizer.py read;
# tests/trainer_config_test.py checks they stay the same as those modules' defaults.
# ----------------------------------------------------------------------------------------------


def source_config(kind: str, **overrides) -> ml_collections.ConfigDict:
  """One `config.data.sources.<name>` entry (the keys data/sources.py reads)."""
  cfg = dict(
      kind=kind,               # synthetic | jsonl | array_record | tfds | memory
      weight=1.0,              # mixture weight (normalized over sources; see mixture_unit)
      path="",                 # jsonl/array_record: files, globs, dirs, comma-separated
      eval_path="",            # held-out files of the same kind ('' = none)
      tfds_name="",            # tfds: dataset name
      tfds_data_dir="",        # tfds: data_dir ('' = TFDS default)
      split="train",           # tfds: training split
      eval_split="",           # tfds: held-out split ('' = none)
      texts=(),                # memory: the documents
      eval_texts=(),           # memory: held-out documents
      num_records=10_000,      # synthetic: documents in the training split
      text_field="text",       # pretrain: the field holding the document text
      prompt_field="question",  # sft: the question field
      response_field="answer",  # sft: the answer field
      messages_field="",       # sft: a chat list [{role, content}] field, used instead if set
      strict=False,            # jsonl: raise on the first bad line instead of skipping it
  )
  cfg.update(overrides)
  return ml_collections.ConfigDict(cfg)


def data_config(mode: str, sources: dict) -> ml_collections.ConfigDict:
  """`config.data` (the keys of data.pipeline.default_data_config; a test keeps them in sync)."""
  return ml_collections.ConfigDict(dict(
      mode=mode,                   # pretrain | sft (prompt/response, loss on responses only)
      sources=ml_collections.ConfigDict(sources),  # name -> source_config(...)
      mixture_unit="tokens",       # the paper states its mixture in tokens (§2.3)
      mixture_sample_docs=64,      # documents per source to measure mean length
      add_bos=True,                # BOS before each document
      add_eos=True,                # EOS after each document
      shuffle=True,                # seeded shuffle of each source, reshuffled per epoch
      num_epochs=0,                # 0 = repeat forever
      packing_bins=0,              # first-fit bins per packing round (0 = 4 x batch)
      read_threads=2,              # tokenizing threads per process
      read_buffer=64,              # elements each thread reads ahead
      worker_count=0,              # grain worker processes (0 = in-process)
      worker_buffer_size=2,        # batches each worker prepares ahead
      num_shards=0,                # record shards (0 = one per process; fixed = same batches
                                   # on any process count)
      eval_holdout_records=0,      # sources without an eval split hold out their first n
      eval_max_batches=0,          # cap on held-out batches (0 = all)
  ))


def tokenizer_config(kind: str, path: str = "", vocab_size: int = 256,
                     train_num_docs: int = 2000) -> ml_collections.ConfigDict:
  """`config.tokenizer` (keys of data.tokenizer.default_tokenizer_config)."""
  return ml_collections.ConfigDict(dict(
      kind=kind,                   # sentencepiece | hf_json | train_sentencepiece_on_source
      path=path,                   # model file / tokenizer.json (dir); '' = workdir default
      vocab_size=vocab_size,       # train_sentencepiece_on_source only
      byte_fallback=False,         # byte pieces (needs vocab_size > ~300)
      train_num_docs=train_num_docs,  # documents read to train the tokenizer
      user_defined_symbols=(),     # extra special tokens for trained tokenizers
  ))


def opt_config(*, schedule: str, peak_lr: float, warmup_steps: int) -> ml_collections.ConfigDict:
  """`config.opt` (read by trainers/optim.py)."""
  return ml_collections.ConfigDict(dict(
      schedule=schedule,           # multistep (§2.2.1) | cosine | constant (SFT, §3.2)
      peak_lr=peak_lr,             # peak learning rate
      warmup_steps=warmup_steps,   # linear warmup to the peak (§2.2.1: 2000)
      decay_fractions=(0.8, 0.9),  # multistep: fractions of total_steps where the rate drops
      decay_factors=(0.316, 0.1),  # multistep: multiple of the peak after each drop
      end_lr_frac=0.1,             # cosine: final rate as a fraction of the peak
      b1=0.9,                      # AdamW β1
      b2=0.95,                     # AdamW β2
      eps=1e-8,                    # AdamW ε
      weight_decay=0.1,            # decoupled weight decay (matrices only, not norm scales)
      grad_clip_norm=1.0,          # global-norm clip (unspecified in the paper; 1.0 common)
      z_loss_weight=0.0,           # weight of log(Z)^2 (0 = off)
  ))


def trainer_config(*, stage: str, recipe: dict, data: ml_collections.ConfigDict,
                   tokenizer: ml_collections.ConfigDict, opt: ml_collections.ConfigDict,
                   tiny: bool) -> ml_collections.ConfigDict:
  """The keys trainers/pretrain.py reads; shared by configs/pretrain.py and configs/sft.py."""
  config = ml_collections.ConfigDict()
  config.stage = stage                              # pretrain | sft
  config.seed = 0                                   # the one seed (init, data order)
  config.total_steps = recipe["steps"]              # optimizer steps in the run
  config.checkpoint_every = recipe["checkpoint_every"]  # steps between checkpoints
  config.batch_size = recipe["batch_size"]          # global sequences per step
  config.seq_len = recipe["seq_len"]                # packed sequence length L
  config.num_microbatches = recipe["num_microbatches"]  # gradient accumulation (scan)
  config.max_bad_steps = 5 if tiny else 20          # consecutive NaN/inf steps before stopping
  config.log_every = 1 if tiny else 10              # steps between metrics.jsonl records
  config.init_from = ""                             # '' | hf:PATH | another run's workdir
  model = dict(dtype="bfloat16", remat="block", scan_layers=True) if not tiny else {}
  config.model = model_config(recipe["model"], **model)
  config.tokenizer = tokenizer
  config.data = data
  config.opt = opt
  config.mesh = mesh_config(data=-1) if tiny else mesh_config(data=1, fsdp=-1)
  config.axis_rules = AXIS_RULES         # logical axis -> mesh axes
  config.ckpt = ml_collections.ConfigDict(dict(
      max_to_keep=3,                                # newest checkpoints kept
      async_save=True,                              # write in a background thread
  ))
  config.eval = ml_collections.ConfigDict(dict(
      every=10 if tiny else 1000,                   # steps between held-out evals (0 = off)
      batch_size=8 if tiny else 64,                 # global sequences per eval batch
  ))
  config.metrics = ml_collections.ConfigDict(dict(
      peak_flops_per_s=0.0,                         # MFU denominator, all devices (0 = measure)
      peak_matmul_size=512 if tiny else 8192,       # square matmul size when measuring
  ))
  config.debug = ml_collections.ConfigDict(dict(
      nan_at_steps="",                              # test hook: "3,4" poisons those steps' loss
      kill_at_step=0,                               # test hook: SIGKILL self after step k (0 = off)
      sigterm_at_step=0,                            # test hook: SIGTERM self after step k (0 = off)
  ))
  return config
