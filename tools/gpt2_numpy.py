#!/usr/bin/env python3
"""An independent GPT-2 forward pass in NumPy (float64), reading an rlhf-lab / Hugging Face checkpoint
folder, to cross-check the lab's own numbers (e.g. `rlhf-lab score`) against code that shares none of
its TypeScript.

    python3 tools/gpt2_numpy.py DIR --ids 1,2,3
    python3 tools/gpt2_numpy.py DIR --ids-json '[1, 2, 3]'

prints one JSON object: {"logprobs": [...]} where logprobs[i] = log p(ids[i+1] | ids[..i]) (so
len(ids) - 1 numbers), plus "values": [...] (the scalar head at every position,
score.weight . h + score.bias) when the checkpoint has a score head.

It reads only model.safetensors (header parsed by hand: u64 little-endian length, JSON, raw
little-endian data; F32, F16 and BF16) and config.json. The math is Hugging Face's GPT-2: pre-LN
blocks, Conv1D weights (in, out) so y = x @ W + b, c_attn's output split [q | k | v], causal softmax
attention scaled by 1/sqrt(head size), gelu_new, LayerNorm with config's layer_norm_epsilon (biased
variance), and the LM head tied to wte.
"""

import argparse
import json
import math
import os
import sys

import numpy as np


def read_safetensors(path):
    """Tensor name -> float64 array of its shape."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    header_length = int.from_bytes(data[:8], "little")
    if 8 + header_length > len(data):
        raise ValueError(f"{path}: header length {header_length} goes beyond the end of the file")
    header = json.loads(data[8 : 8 + header_length].decode("utf-8"))
    body = data[8 + header_length :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        tensors[name] = decode(raw, info["dtype"], name).reshape(info["shape"])
    return tensors


def decode(raw, dtype, name):
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4").astype(np.float64)
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float64)
    if dtype == "BF16":
        # bfloat16 is the top half of a float32
        halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32)
        return (halves << 16).view(np.float32).astype(np.float64)
    raise ValueError(f"tensor {name}: dtype {dtype} is not supported")


def layer_norm(x, weight, bias, eps):
    """(T,C) -> (T,C): (x - mean) / sqrt(var + eps) * weight + bias over the channels."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def attention(qkv, n_head):
    """(T,3C) packed [q | k | v] -> (T,C): causal multi-head self-attention, heads concatenated."""
    T, three_c = qkv.shape
    C = three_c // 3
    hs = C // n_head
    q, k, v = qkv[:, :C], qkv[:, C : 2 * C], qkv[:, 2 * C :]
    # (NH,T,HS)
    q = q.reshape(T, n_head, hs).transpose(1, 0, 2)
    k = k.reshape(T, n_head, hs).transpose(1, 0, 2)
    v = v.reshape(T, n_head, hs).transpose(1, 0, 2)
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(hs)  # (NH,T,T)
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    scores = np.where(future, -np.inf, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    out = weights @ v  # (NH,T,HS)
    return out.transpose(1, 0, 2).reshape(T, C)


def forward(tensors, config, ids):
    """Final hidden state (T,C) and logits (T,V) of one sequence."""
    eps = config.get("layer_norm_epsilon", 1e-5)
    n_head = config["n_head"]
    t = lambda name: tensors[name]
    x = t("transformer.wte.weight")[ids] + t("transformer.wpe.weight")[: len(ids)]
    for i in range(config["n_layer"]):
        p = f"transformer.h.{i}."
        h = layer_norm(x, t(p + "ln_1.weight"), t(p + "ln_1.bias"), eps)
        qkv = h @ t(p + "attn.c_attn.weight") + t(p + "attn.c_attn.bias")
        x = x + attention(qkv, n_head) @ t(p + "attn.c_proj.weight") + t(p + "attn.c_proj.bias")
        h = layer_norm(x, t(p + "ln_2.weight"), t(p + "ln_2.bias"), eps)
        fc = gelu_new(h @ t(p + "mlp.c_fc.weight") + t(p + "mlp.c_fc.bias"))
        x = x + fc @ t(p + "mlp.c_proj.weight") + t(p + "mlp.c_proj.bias")
    lnf = layer_norm(x, t("transformer.ln_f.weight"), t("transformer.ln_f.bias"), eps)
    logits = lnf @ t("transformer.wte.weight").T  # tied LM head
    return lnf, logits


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def check(config, ids):
    activation = config.get("activation_function", "gelu_new")
    if activation != "gelu_new":
        raise ValueError(f"config.json: activation_function {activation!r} is not supported (only gelu_new)")
    if not ids:
        raise ValueError("give at least one token id")
    if len(ids) > config["n_positions"]:
        raise ValueError(f"{len(ids)} ids exceed n_positions {config['n_positions']}")
    for token in ids:
        if not (0 <= token < config["vocab_size"]):
            raise ValueError(f"token id {token} is outside [0, {config['vocab_size']})")


def parse_ids(args):
    if (args.ids is None) == (args.ids_json is None):
        raise ValueError("give exactly one of --ids 1,2,3 and --ids-json '[1,2,3]'")
    if args.ids is not None:
        return [int(part) for part in args.ids.split(",") if part.strip() != ""]
    ids = json.loads(args.ids_json)
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValueError("--ids-json must be a JSON array of integers")
    return ids


def main():
    parser = argparse.ArgumentParser(description="GPT-2 forward in NumPy: next-token log-probabilities of some ids.")
    parser.add_argument("model", help="checkpoint folder with model.safetensors and config.json")
    parser.add_argument("--ids", help="comma-separated token ids, e.g. 1,2,3")
    parser.add_argument("--ids-json", help="token ids as a JSON array, e.g. '[1, 2, 3]'")
    args = parser.parse_args()
    try:
        ids = parse_ids(args)
        with open(os.path.join(args.model, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        check(config, ids)
        tensors = read_safetensors(os.path.join(args.model, "model.safetensors"))
        lnf, logits = forward(tensors, config, np.array(ids, dtype=np.int64))
    except KeyError as error:
        print(f"gpt2_numpy: {error.args[0]!r} is missing from config.json or model.safetensors", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"gpt2_numpy: {error}", file=sys.stderr)
        return 1
    logprobs = log_softmax(logits)
    result = {"logprobs": [float(logprobs[i, ids[i + 1]]) for i in range(len(ids) - 1)]}
    if "score.weight" in tensors:
        bias = tensors["score.bias"][0] if "score.bias" in tensors else 0.0
        result["values"] = [float(v) for v in lnf @ tensors["score.weight"][0] + bias]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
