#!/usr/bin/python3
"""Replays a few training steps of the lab's engine in PyTorch, for the step-by-step parity test
(test/unit/model/torch-parity.test.ts) between tools/pretrain.py and the WGSL engine.

It uses tools/pretrain.py's own Gpt2 and EngineAdamW -- the code that pretrains the base model -- so
the test checks that code, not a copy. From initial weights (a safetensors file in HF GPT-2 names
and Conv1D layout) it runs, for every step of a run file, model.loss on that step's batch,
backward, and EngineAdamW.step(lr), in float32 on the CPU, and writes each step's loss and
gradient norm (before clipping) as JSON and the final weights as safetensors.

Run file (JSON):
    {"config": {"n_layer": L, "n_embd": C, "n_head": NH, "n_ctx": N, "vocab_size": V},
     "adamw": {"beta1": .., "beta2": .., "eps": .., "weight_decay": .., "grad_clip": ..},
     "schedule": {"max_lr": .., "min_lr": .., "warmup": .., "total": ..},
     "steps": [{"lr": .., "tokens": [[..T ids..] x B], "targets": [[..T ids..] x B]}, ...]}
A step without "lr" takes pretrain.py's learning_rate(step, ...) from "schedule" (steps count from
0), so the schedule is checked too. grad_clip null means no clipping (JSON has no Infinity). Output:
    {"torch": VERSION, "threads": N, "steps": [{"step": 1, "lr": .., "loss": .., "grad_norm": ..}, ...]}

Install (Debian 12, as root): apt-get install -y python3-torch libopenblas0-pthread
Run:   /usr/bin/python3 tools/torch_parity.py --weights INIT.safetensors --run RUN.json \\
           --out-weights FINAL.safetensors [--out-json RESULT.json] [--threads 1]
Sizes: B batch rows, T tokens per row, V vocabulary.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

try:
    import torch
except ImportError as missing:  # pragma: no cover - depends on the machine
    sys.exit(f"tools/torch_parity.py needs PyTorch ({missing}).\n"
             "Install it (Debian 12, as root): apt-get install -y python3-torch libopenblas0-pthread\n"
             "and run this script with Debian's interpreter, /usr/bin/python3.")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pretrain import ADAMW, EngineAdamW, Gpt2, learning_rate, load_weights, safetensors_bytes, write_atomically  # noqa: E402

CONFIG_KEYS = ("n_layer", "n_embd", "n_head", "n_ctx", "vocab_size")
SCHEDULE_KEYS = ("max_lr", "min_lr", "warmup", "total")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run N training steps of tools/pretrain.py's GPT-2 and AdamW on given weights and batches "
                    "(float32, CPU) and write per-step loss and gradient norm and the final weights.",
        epilog="The run file's format is in this script's header. Used by test/unit/model/torch-parity.test.ts.")
    parser.add_argument("--weights", required=True, help="initial weights: safetensors, HF GPT-2 names, Conv1D layout, F32")
    parser.add_argument("--run", required=True, help="JSON run file: config, adamw settings, lr schedule, and per step tokens, targets (and lr)")
    parser.add_argument("--out-weights", required=True, help="safetensors file to write the weights after the last step to")
    parser.add_argument("--out-json", help="file to write the per-step JSON to (default: stdout)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a fixed summation order)")
    return parser.parse_args(argv)


def read_run(path: str) -> dict:
    """The run file, checked: config keys present, settings complete, every step's batch (B, T) ids < V."""
    with open(path) as f:
        run = json.load(f)
    config = run.get("config", {})
    missing = [key for key in CONFIG_KEYS if not isinstance(config.get(key), int)]
    if missing:
        raise SystemExit(f"{path}: config needs integer {', '.join(missing)}")
    settings = {**ADAMW, **run.get("adamw", {})}
    if settings["grad_clip"] is None:
        settings["grad_clip"] = math.inf
    if not run.get("steps"):
        raise SystemExit(f"{path}: no steps")
    schedule = run.get("schedule")
    if schedule is not None and not all(isinstance(schedule.get(key), (int, float)) for key in SCHEDULE_KEYS):
        raise SystemExit(f"{path}: schedule needs numeric {', '.join(SCHEDULE_KEYS)}")
    for i, step in enumerate(run["steps"]):
        check_step(path, i, step, config)
        if "lr" not in step and schedule is None:
            raise SystemExit(f"{path}: step {i} has no lr and the run no schedule")
    return dict(config={key: config[key] for key in CONFIG_KEYS}, adamw=settings, schedule=schedule, steps=run["steps"])


def step_lr(run: dict, i: int) -> float:
    """Step i's own lr, else pretrain.py's schedule at step i."""
    if "lr" in run["steps"][i]:
        return float(run["steps"][i]["lr"])
    s = run["schedule"]
    return learning_rate(i, s["max_lr"], s["min_lr"], s["warmup"], s["total"])


def check_step(path: str, i: int, step: dict, config: dict) -> None:
    if "lr" in step and not isinstance(step["lr"], (int, float)):
        raise SystemExit(f"{path}: step {i} lr is not a number")
    shapes = []
    for key in ("tokens", "targets"):
        rows = step.get(key)
        if not isinstance(rows, list) or not rows or not all(isinstance(row, list) for row in rows):
            raise SystemExit(f"{path}: step {i} {key} must be a B x T list of lists")
        if len({len(row) for row in rows}) != 1:
            raise SystemExit(f"{path}: step {i} {key} has rows of different lengths")
        bad = [t for row in rows for t in row if not isinstance(t, int) or not 0 <= t < config["vocab_size"]]
        if bad:
            raise SystemExit(f"{path}: step {i} {key} holds {bad[0]!r}, not a token id in [0, {config['vocab_size']})")
        shapes.append((len(rows), len(rows[0])))
    if shapes[0] != shapes[1]:
        raise SystemExit(f"{path}: step {i} tokens are {shapes[0]} but targets {shapes[1]}")
    if shapes[0][1] > config["n_ctx"]:
        raise SystemExit(f"{path}: step {i} has T={shapes[0][1]} over n_ctx={config['n_ctx']}")


def train_step(model: Gpt2, optimizer: EngineAdamW, step: dict, lr: float) -> tuple[float, float]:
    """model.loss, backward and one EngineAdamW step; returns (loss, grad norm before clipping)."""
    tokens = torch.tensor(step["tokens"], dtype=torch.int64)    # (B, T)
    targets = torch.tensor(step["targets"], dtype=torch.int64)  # (B, T)
    model.zero_grad(set_to_none=False)
    loss = model.loss(tokens, targets)
    loss.backward()
    grad_norm = optimizer.step(lr)
    return float(loss), grad_norm


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.threads < 1:
        raise SystemExit("--threads must be at least 1")
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    run = read_run(args.run)
    model = Gpt2(**run["config"])
    try:
        load_weights(model, args.weights)
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot load --weights: {error}")
    optimizer = EngineAdamW(model, run["adamw"])
    rows = []
    for i, step in enumerate(run["steps"]):
        lr = step_lr(run, i)
        loss, grad_norm = train_step(model, optimizer, step, lr)
        rows.append({"step": i + 1, "lr": lr, "loss": loss, "grad_norm": grad_norm})
    write_atomically(args.out_weights, safetensors_bytes([(name, p.detach().numpy()) for name, p in model.named()]))
    text = json.dumps({"torch": torch.__version__, "threads": args.threads, "steps": rows})
    if args.out_json:
        write_atomically(args.out_json, (text + "\n").encode())
    else:
        print(text, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
