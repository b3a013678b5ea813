#!/usr/bin/python3
"""Pretrains the lab's base model with PyTorch on the CPU.

The engine trains at ~1 GFLOP/s on a CPU WebGPU adapter; PyTorch with OpenBLAS runs 20-35 GFLOP/s
on the same cores, which is what a base model that has seen tens of millions of tokens needs.
This file is the lab's GPT-2 exactly as src/model/gpt.ts computes it -- pre-LayerNorm blocks,
tanh GELU (HF "gelu_new"), LayerNorm eps 1e-5, an LM head tied to wte -- initialised as
src/model/config.ts's initParameters does, and trained with the engine's AdamW (src/engine/
kernels/adamw.wgsl: beta1 0.9, beta2 0.95, eps 1e-8, decoupled weight decay 0.1 on tensors of
rank >= 2, global-norm gradient clipping at 1.0 without torch's +1e-6) on nanoGPT's warmup +
cosine schedule (src/model/lm-training.ts learningRate). tools/torch_parity.py and
test/unit/model/torch-parity.test.ts check step by step that both compute the same thing.

Input: a token folder written by `rlhf-lab world --tokens` (tokens.json, train.bin, heldout.bin,
tokenizer.json). Output: a checkpoint folder the lab loads (model.safetensors in HF GPT-2 names
and Conv1D layout, config.json with the lineage under "rlhf_lab", tokenizer.json,
tokenizer_config.json), plus optimizer.pt and train_state.json so a rerun with the same --out
resumes. The folder is written whole or not at all, as the CLI writes one (src/cli/files.ts): into
OUT.partial, then renamed to OUT, the previous OUT kept as OUT.previous until then (and moved back
if a run is killed between the renames), so a resume never reads a half-written one. A NaN or
infinite loss, gradient norm, held-out loss or weight stops the run at that step, the last
checkpoint kept. Snapshots of the weights at --snapshot-every steps go to OUT.step-N, beside OUT.

Install (Debian 12, as root): apt-get install -y python3-torch libopenblas0-pthread
Run:   /usr/bin/python3 tools/pretrain.py --data TOKENS_DIR --out MODEL_DIR [--steps ...]
Sizes: B batch rows, T tokens per row, C channels, L layers, NH heads, V vocabulary.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as missing:  # pragma: no cover - depends on the machine
    sys.exit(f"tools/pretrain.py needs PyTorch and NumPy ({missing}).\n"
             "Install them (Debian 12, as root): apt-get install -y python3-torch libopenblas0-pthread\n"
             "and run this script with Debian's interpreter, /usr/bin/python3.")

PRESETS = {  # src/model/config.ts PRESETS (vocabulary from the tokenizer)
    "micro": dict(n_layer=2, n_embd=32, n_head=2, n_ctx=32),
    "small": dict(n_layer=4, n_embd=128, n_head=4, n_ctx=128),
    "medium": dict(n_layer=6, n_embd=256, n_head=8, n_ctx=256),
}
INIT_STD = 0.02          # config.ts INIT_STD
LAYERNORM_EPS = 1e-5     # the engine's LayerNorm epsilon (HF layer_norm_epsilon)
ADAMW = dict(beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip=1.0)  # gpt.ts DEFAULT_ADAMW
TOKENS_FORMAT = "rlhf-lab-tokens-v1"  # src/cli/world-command.ts TOKENS_FORMAT


# ------------------------------------------------------------------------------------------------
# The model


class Gpt2(torch.nn.Module):
    """GPT-2 with parameters held under their Hugging Face names and Conv1D (in, out) layout."""

    def __init__(self, n_layer: int, n_embd: int, n_head: int, n_ctx: int, vocab_size: int):
        super().__init__()
        self.config = dict(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_ctx=n_ctx, vocab_size=vocab_size)
        self.shapes = parameter_shapes(self.config)
        self.params = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(shape)) for _, shape in self.shapes])
        self.index = {name: i for i, (name, _) in enumerate(self.shapes)}
        mask = torch.full((n_ctx, n_ctx), float("-inf")).triu(1)
        self.register_buffer("causal_mask", mask, persistent=False)  # (T, T) 0 on and below the diagonal

    def p(self, name: str) -> torch.nn.Parameter:
        return self.params[self.index[name]]

    def named(self) -> list[tuple[str, torch.nn.Parameter]]:
        return [(name, self.params[i]) for i, (name, _) in enumerate(self.shapes)]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) int64 -> logits (B, T, V)."""
        B, T = tokens.shape
        C, NH = self.config["n_embd"], self.config["n_head"]
        HS = C // NH
        x = self.p("transformer.wte.weight")[tokens] + self.p("transformer.wpe.weight")[:T]  # (B, T, C)
        for layer in range(self.config["n_layer"]):
            h = f"transformer.h.{layer}"
            a = F.layer_norm(x, (C,), self.p(f"{h}.ln_1.weight"), self.p(f"{h}.ln_1.bias"), LAYERNORM_EPS)
            qkv = a @ self.p(f"{h}.attn.c_attn.weight") + self.p(f"{h}.attn.c_attn.bias")  # (B, T, 3C)
            q, k, v = (t.view(B, T, NH, HS).transpose(1, 2) for t in qkv.split(C, dim=2))  # (B, NH, T, HS)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(HS) + self.causal_mask[:T, :T]  # (B, NH, T, T)
            y = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
            x = x + y @ self.p(f"{h}.attn.c_proj.weight") + self.p(f"{h}.attn.c_proj.bias")
            m = F.layer_norm(x, (C,), self.p(f"{h}.ln_2.weight"), self.p(f"{h}.ln_2.bias"), LAYERNORM_EPS)
            m = F.gelu(m @ self.p(f"{h}.mlp.c_fc.weight") + self.p(f"{h}.mlp.c_fc.bias"), approximate="tanh")  # (B, T, 4C)
            x = x + m @ self.p(f"{h}.mlp.c_proj.weight") + self.p(f"{h}.mlp.c_proj.bias")
        x = F.layer_norm(x, (C,), self.p("transformer.ln_f.weight"), self.p("transformer.ln_f.bias"), LAYERNORM_EPS)
        return x @ self.p("transformer.wte.weight").t()  # tied LM head, (B, T, V)

    def loss(self, tokens: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy over every position of the batch."""
        logits = self.forward(tokens)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def parameter_shapes(config: dict) -> list[tuple[str, list[int]]]:
    """src/model/config.ts parameterShapes: HF names in the engine's order."""
    L, C, V, n_ctx = config["n_layer"], config["n_embd"], config["vocab_size"], config["n_ctx"]
    shapes = [("transformer.wte.weight", [V, C]), ("transformer.wpe.weight", [n_ctx, C])]
    for i in range(L):
        h = f"transformer.h.{i}"
        shapes += [
            (f"{h}.ln_1.weight", [C]), (f"{h}.ln_1.bias", [C]),
            (f"{h}.attn.c_attn.weight", [C, 3 * C]), (f"{h}.attn.c_attn.bias", [3 * C]),
            (f"{h}.attn.c_proj.weight", [C, C]), (f"{h}.attn.c_proj.bias", [C]),
            (f"{h}.ln_2.weight", [C]), (f"{h}.ln_2.bias", [C]),
            (f"{h}.mlp.c_fc.weight", [C, 4 * C]), (f"{h}.mlp.c_fc.bias", [4 * C]),
            (f"{h}.mlp.c_proj.weight", [4 * C, C]), (f"{h}.mlp.c_proj.bias", [C]),
        ]
    return shapes + [("transformer.ln_f.weight", [C]), ("transformer.ln_f.bias", [C])]


def init_parameters(model: Gpt2, seed: int) -> None:
    """config.ts initParameters' distribution (its values come from torch's generator, not the
    engine's Rng): LayerNorm weights 1, biases 0, weights N(0, 0.02), residual projections
    N(0, 0.02 / sqrt(2L))."""
    generator = torch.Generator().manual_seed(seed)
    residual_std = INIT_STD / math.sqrt(2 * model.config["n_layer"])
    with torch.no_grad():
        for name, param in model.named():
            if name.endswith(".bias"):
                param.zero_()
            elif ".ln_" in name:
                param.fill_(1.0)
            else:
                std = residual_std if name.endswith(".c_proj.weight") else INIT_STD
                param.copy_(torch.randn(param.shape, generator=generator) * std)


# ------------------------------------------------------------------------------------------------
# The optimizer: the engine's AdamW (adamw.wgsl), one step at a time


class EngineAdamW:
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr ((m/bc1) / (sqrt(v/bc2) + eps) + wd p),
    with g scaled by clip / ||g|| when ||g|| > clip, and wd only on tensors of rank >= 2."""

    def __init__(self, model: Gpt2, settings: dict = ADAMW):
        self.model = model
        self.settings = settings
        self.step_count = 0
        self.m = [torch.zeros_like(p) for p in model.params]
        self.v = [torch.zeros_like(p) for p in model.params]

    @torch.no_grad()
    def step(self, lr: float) -> float:
        """Applies one update from the parameters' .grad; returns the gradient norm before clipping."""
        s = self.settings
        grads = [p.grad for p in self.model.params]
        grad_norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))
        scale = s["grad_clip"] / grad_norm if math.isfinite(s["grad_clip"]) and grad_norm > s["grad_clip"] else 1.0
        self.step_count += 1
        bc1 = 1 - s["beta1"] ** self.step_count
        bc2 = 1 - s["beta2"] ** self.step_count
        for p, g, m, v in zip(self.model.params, grads, self.m, self.v):
            g = g * scale
            m.mul_(s["beta1"]).add_(g, alpha=1 - s["beta1"])
            v.mul_(s["beta2"]).addcmul_(g, g, value=1 - s["beta2"])
            update = (m / bc1) / ((v / bc2).sqrt() + s["eps"])
            if p.dim() >= 2:
                update = update + s["weight_decay"] * p
            p.sub_(lr * update)
        return grad_norm

    def state(self) -> dict:
        return {"step": self.step_count, "m": self.m, "v": self.v}

    def load(self, state: dict) -> None:
        self.step_count = state["step"]
        self.m, self.v = state["m"], state["v"]


def learning_rate(step: int, max_lr: float, min_lr: float, warmup: int, total: int) -> float:
    """lm-training.ts learningRate (nanoGPT's get_lr): linear warmup, cosine to min_lr at total."""
    if step < warmup:
        return max_lr * (step + 1) / warmup
    if step >= total:
        return min_lr
    progress = (step - warmup) / max(1, total - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)


# ------------------------------------------------------------------------------------------------
# Files: safetensors, checkpoint folders, the token folder


def write_synced(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_atomically(path: str, data: bytes) -> None:
    """Writes to path.partial, fsyncs and renames: the file is either old or whole."""
    temporary = f"{path}.partial"
    write_synced(temporary, data)
    os.replace(temporary, path)


def recover_interrupted_folder(folder: str) -> None:
    """After a kill between write_folder_atomically's renames, FOLDER.previous (whole) becomes FOLDER again."""
    previous = f"{folder}.previous"
    if not os.path.exists(folder) and os.path.isdir(previous):
        os.replace(previous, folder)


def write_folder_atomically(folder: str, files: dict[str, bytes]) -> None:
    """The files as FOLDER, whole or not at all (src/cli/files.ts writeFolderAtomically): written
    and fsynced in FOLDER.partial, the old FOLDER set aside as FOLDER.previous, FOLDER.partial
    renamed to FOLDER, FOLDER.previous removed."""
    partial, previous = f"{folder}.partial", f"{folder}.previous"
    recover_interrupted_folder(folder)
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    for name, data in files.items():
        write_synced(os.path.join(partial, name), data)
    shutil.rmtree(previous, ignore_errors=True)
    if os.path.exists(folder):
        os.replace(folder, previous)
    os.replace(partial, folder)
    shutil.rmtree(previous, ignore_errors=True)


def safetensors_bytes(tensors: list[tuple[str, np.ndarray]]) -> bytes:
    """The safetensors format: u64 header length, JSON header, raw little-endian float32 data."""
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, array in tensors:
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(a.astype("<f4").tobytes() for _, a in tensors)


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[8 + length + start:8 + length + end], dtype="<f4").reshape(info["shape"])
    return tensors


def load_weights(model: Gpt2, path: str) -> None:
    tensors = read_safetensors(path)
    with torch.no_grad():
        for name, param in model.named():
            if name not in tensors:
                raise ValueError(f"{path}: no tensor {name}")
            if list(tensors[name].shape) != list(param.shape):
                raise ValueError(f"{path}: {name} has shape {list(tensors[name].shape)}, the model {list(param.shape)}")
            param.copy_(torch.from_numpy(tensors[name].copy()))


def weights_bytes(model: Gpt2) -> bytes:
    return safetensors_bytes([(name, p.detach().numpy()) for name, p in model.named()])


def checkpoint_files(model: Gpt2, tokenizer_json: str, eos_id: int, meta: dict[str, str]) -> dict[str, bytes]:
    """The four files src/model/checkpoint.ts writes, with the same config.json keys."""
    c = model.config
    config = {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
        "n_layer": c["n_layer"], "n_embd": c["n_embd"], "n_head": c["n_head"],
        "n_positions": c["n_ctx"], "n_ctx": c["n_ctx"], "vocab_size": c["vocab_size"],
        "layer_norm_epsilon": LAYERNORM_EPS, "activation_function": "gelu_new",
        "bos_token_id": eos_id, "eos_token_id": eos_id, "pad_token_id": eos_id,
        "resid_pdrop": 0, "embd_pdrop": 0, "attn_pdrop": 0, "tie_word_embeddings": True,
        "rlhf_lab": meta,
    }
    added = json.loads(tokenizer_json).get("added_tokens") or [{"content": "<|endoftext|>"}]
    eos = next((t["content"] for t in added if t.get("id") == eos_id), added[0]["content"])
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast", "eos_token": eos, "bos_token": eos, "pad_token": eos,
        "model_max_length": c["n_ctx"], "clean_up_tokenization_spaces": False,
    }
    return {
        "model.safetensors": weights_bytes(model),
        "config.json": (json.dumps(config, indent=2) + "\n").encode(),
        "tokenizer.json": tokenizer_json.encode(),
        "tokenizer_config.json": (json.dumps(tokenizer_config, indent=2) + "\n").encode(),
    }


def non_finite_tensor(model: Gpt2) -> str | None:
    """The name of the first parameter holding a NaN or an infinity, if any."""
    return next((name for name, p in model.named() if not bool(torch.isfinite(p).all())), None)


def read_state(out: str) -> dict | None:
    """OUT/train_state.json of the run to resume, or None for a new run; a damaged one is named."""
    recover_interrupted_folder(out)
    path = os.path.join(out, "train_state.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            state = json.load(f)
        if not isinstance(state.get("settings"), dict) or not isinstance(state.get("step"), int) or not isinstance(state.get("history"), list):
            raise ValueError('it needs "settings", "step" and "history"')
    except (OSError, ValueError, AttributeError) as error:
        raise SystemExit(f"{path} is damaged ({error}): delete {out} to start the run again, or choose another --out")
    return state


class TokenFolder:
    """A folder written by `rlhf-lab world --tokens`: train and held-out uint16 streams."""

    def __init__(self, folder: str):
        manifest_path = os.path.join(folder, "tokens.json")
        if not os.path.exists(manifest_path):
            raise SystemExit(f"{folder} has no tokens.json; write one with: npx rlhf-lab world --tokens --out {folder} --documents N")
        with open(manifest_path) as f:
            self.manifest = json.load(f)
        if self.manifest.get("format") != TOKENS_FORMAT:
            raise SystemExit(f"{manifest_path}: format is {self.manifest.get('format')!r}, expected {TOKENS_FORMAT!r}")
        self.train = self._stream(folder, "train.bin", self.manifest["train_tokens"])
        self.heldout = self._stream(folder, "heldout.bin", self.manifest["heldout_tokens"])
        with open(os.path.join(folder, "tokenizer.json")) as f:
            self.tokenizer_json = f.read()

    @staticmethod
    def _stream(folder: str, name: str, expected: int) -> np.ndarray:
        ids = np.fromfile(os.path.join(folder, name), dtype="<u2").astype(np.int64)
        if len(ids) != expected:
            raise SystemExit(f"{os.path.join(folder, name)} holds {len(ids)} tokens, tokens.json says {expected}")
        return ids


def sample_windows(stream: np.ndarray, B: int, T: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """B random windows of T+1 tokens: inputs (B, T) and next-token targets (B, T)."""
    starts = rng.integers(0, len(stream) - T, size=B)
    windows = np.stack([stream[s:s + T + 1] for s in starts])  # (B, T+1)
    return torch.from_numpy(windows[:, :-1]), torch.from_numpy(windows[:, 1:])


@torch.no_grad()
def heldout_loss(model: Gpt2, stream: np.ndarray, B: int, T: int, max_batches: int) -> float:
    """Mean loss over consecutive windows from the start of the held-out stream (as
    lm-training.ts evaluationWindows does)."""
    windows = min((len(stream) - 1) // T, B * max_batches)
    if windows < B:
        raise SystemExit(f"the held-out stream ({len(stream)} tokens) is shorter than one batch of {B} x {T}")
    starts = np.arange(windows) * T
    total = 0.0
    for first in range(0, windows - B + 1, B):
        rows = np.stack([stream[s:s + T + 1] for s in starts[first:first + B]])
        total += float(model.loss(torch.from_numpy(rows[:, :-1]), torch.from_numpy(rows[:, 1:])))
    return total / (windows // B)


# ------------------------------------------------------------------------------------------------
# The machine


def blas_library() -> str:
    """The BLAS this process loaded (Debian's torch links libblas.so.3, whichever provides it)."""
    a = torch.randn(64, 64)
    _ = a @ a
    with open("/proc/self/maps") as f:
        libraries = {line.split()[-1] for line in f if "blas" in line}
    return next((lib for lib in sorted(libraries) if "libopenblas" in os.path.basename(lib)), next(iter(sorted(libraries)), "unknown"))


def check_openblas(allow_slow: bool) -> str:
    library = blas_library()
    if "openblas" not in library:
        message = (f"PyTorch is using {library}, not OpenBLAS: training would run ~8x slower.\n"
                   "Install it (as root): apt-get install -y libopenblas0-pthread  (or pass --allow-slow-blas)")
        if not allow_slow:
            raise SystemExit(message)
        print(f"warning: {message}", file=sys.stderr)
    return library


# ------------------------------------------------------------------------------------------------
# The run


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Pretrain the lab's base GPT-2 with PyTorch on the CPU (resumable; rerun the same command to continue).",
        epilog="Example: npx rlhf-lab world --tokens --out ../runs/tokens --documents 300000 && "
               "/usr/bin/python3 tools/pretrain.py --data ../runs/tokens --out ../runs/base --steps 3000")
    parser.add_argument("--data", required=True, help="token folder from `rlhf-lab world --tokens`")
    parser.add_argument("--out", required=True, help="checkpoint folder to write (and resume from)")
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS), help="model shape (default small)")
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps (default 3000)")
    parser.add_argument("--batch", type=int, default=32, help="B, sequences per step (default 32)")
    parser.add_argument("--seq", type=int, default=None, help="T, tokens per sequence (default: the preset's context)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3; cosine to lr/10)")
    parser.add_argument("--warmup", type=int, default=100, help="warmup steps (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="initialisation and batch order (default 1)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: all cores)")
    parser.add_argument("--log-every", type=int, default=25, help="print progress every N steps (default 25)")
    parser.add_argument("--eval-every", type=int, default=250, help="held-out loss and checkpoint every N steps (default 250)")
    parser.add_argument("--snapshot-every", type=int, default=0, help="also keep OUT.step-N copies every N steps (default: none)")
    parser.add_argument("--eval-batches", type=int, default=16, help="held-out batches per evaluation (default 16)")
    parser.add_argument("--allow-slow-blas", action="store_true", help="train even without OpenBLAS")
    return parser.parse_args(argv)


def settings_of(args: argparse.Namespace) -> dict:
    preset = PRESETS[args.preset]
    seq = args.seq or preset["n_ctx"]
    if not 2 <= seq <= preset["n_ctx"]:
        raise SystemExit(f"--seq must be between 2 and the preset's context {preset['n_ctx']}, got {seq}")
    for name in ("steps", "batch", "warmup", "log_every", "eval_every", "eval_batches"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    return dict(preset=args.preset, steps=args.steps, batch=args.batch, seq=seq, lr=args.lr,
                warmup=min(args.warmup, args.steps), seed=args.seed, data=os.path.abspath(args.data))


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    blas = check_openblas(args.allow_slow_blas)
    settings = settings_of(args)
    data = TokenFolder(args.data)
    previous = read_state(args.out)
    if previous is not None:
        changed = {k: (previous["settings"][k], v) for k, v in settings.items() if previous["settings"].get(k) != v}
        if changed:
            raise SystemExit(f"{args.out} holds a run with other settings ({', '.join(f'{k}: {a} -> {b}' for k, (a, b) in changed.items())}); "
                             "use another --out or the same options")
    model = Gpt2(**PRESETS[args.preset], vocab_size=data.manifest["vocab_size"])
    optimizer = EngineAdamW(model)
    history: list[dict] = []
    start = 0
    if previous is not None:
        load_weights(model, os.path.join(args.out, "model.safetensors"))
        optimizer.load(torch.load(os.path.join(args.out, "optimizer.pt")))
        start, history = previous["step"], previous["history"]
        print(f"resuming {args.out} at step {start} of {settings['steps']}", flush=True)
    else:
        init_parameters(model, settings["seed"])
    B, T = settings["batch"], settings["seq"]
    rng = np.random.default_rng(settings["seed"])
    for _ in range(start):  # the batch order continues where it stopped
        rng.integers(0, len(data.train) - T, size=B)
    n_params = sum(p.numel() for p in model.params)
    print(f"model {args.preset}: {n_params:,} parameters; data {len(data.train):,} train tokens "
          f"({settings['steps'] * B * T / len(data.train):.2f} epochs), {len(data.heldout):,} held-out; "
          f"torch {torch.__version__}, {args.threads} threads, {os.path.basename(blas)}", flush=True)

    saved = [start] if previous is not None else []

    def stop(step: int, what: str) -> None:
        kept = f"{args.out} keeps the checkpoint of step {saved[-1]}" if saved else "no checkpoint was saved"
        raise SystemExit(f"training diverged at step {step}: {what}; lower --lr ({kept})")

    def save(step: int) -> None:
        bad = non_finite_tensor(model)
        if bad is not None:
            stop(step, f"{bad} holds a NaN or an infinity")
        # "seed" is the world seed, as `rlhf-lab pretrain` writes it and the CLI reads it
        meta = {"kind": "base", "preset": args.preset, "seed": str(data.manifest["world_seed"]),
                "init_seed": str(settings["seed"]), "steps": str(step), "tokens": str(step * B * T),
                "trained_with": f"torch {torch.__version__} (CPU, {os.path.basename(blas)}), tools/pretrain.py"}
        checkpoint = checkpoint_files(model, data.tokenizer_json, data.manifest["eos_id"], meta)
        optimizer_state = io.BytesIO()
        torch.save(optimizer.state(), optimizer_state)
        write_folder_atomically(args.out, {
            **checkpoint,
            "optimizer.pt": optimizer_state.getvalue(),
            "train_state.json": json.dumps({"settings": settings, "step": step, "history": history}, indent=1).encode(),
        })
        saved.append(step)
        if args.snapshot_every and step % args.snapshot_every == 0:
            write_folder_atomically(f"{args.out}.step-{step}", checkpoint)

    started = time.time()
    window_start, window_steps = time.time(), 0
    for step in range(start, settings["steps"]):
        lr = learning_rate(step, settings["lr"], settings["lr"] / 10, settings["warmup"], settings["steps"])
        tokens, targets = sample_windows(data.train, B, T, rng)
        model.zero_grad(set_to_none=False)
        loss = model.loss(tokens, targets)
        loss.backward()
        grad_norm = optimizer.step(lr)
        window_steps += 1
        done = step + 1
        if not math.isfinite(float(loss)) or not math.isfinite(grad_norm):
            stop(done, f"loss is {float(loss)}, gradient norm {grad_norm}")
        evaluating = done % args.eval_every == 0 or done == settings["steps"]
        if done % args.log_every == 0 or evaluating:
            seconds = time.time() - window_start
            rate = window_steps * B * T / seconds
            eta = (settings["steps"] - done) * B * T / rate
            row = {"step": done, "loss": round(float(loss), 4), "lr": lr, "grad_norm": round(grad_norm, 4),
                   "tokens_per_second": round(rate), "elapsed_s": round(time.time() - started)}
            if evaluating:
                row["heldout_loss"] = round(heldout_loss(model, data.heldout, B, T, args.eval_batches), 4)
                if not math.isfinite(row["heldout_loss"]):
                    stop(done, f"the held-out loss is {row['heldout_loss']}")
            history.append(row)
            held = f" held-out {row['heldout_loss']:.3f}" if "heldout_loss" in row else ""
            print(f"step {done}/{settings['steps']} loss {float(loss):.3f}{held} lr {lr:.2e} |g| {grad_norm:.2f} "
                  f"{rate:.0f} tok/s, {done * B * T / 1e6:.2f}M tokens, ETA {eta / 60:.0f} min", flush=True)
            window_start, window_steps = time.time(), 0
        if evaluating:
            save(done)
    final = history[-1] if history else {}
    print(json.dumps({"out": args.out, "steps": settings["steps"], "tokens": settings["steps"] * B * T,
                      "train_loss": final.get("loss"), "heldout_loss": final.get("heldout_loss"),
                      "seconds": round(time.time() - started)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
