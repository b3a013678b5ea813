#!/usr/bin/env python3
"""Checks that Hugging Face transformers reads an rlhf-lab checkpoint folder as the lab does: loads it
with AutoTokenizer and GPT2LMHeadModel (PyTorch, float32), computes the per-token log-probs of a text,
and compares them with the lab's own `rlhf-lab score` output (the WGSL engine).

    python3 tools/check_hf_compat.py DIR --text $'Human: What colour is a banana?\\nAssistant:'
    python3 tools/check_hf_compat.py DIR --text "..." --score-json score.json   # saved lab output
    python3 tools/check_hf_compat.py DIR --text "..." --tolerance 1e-4 --device cuda

(bash's $'...' turns \\n into the newline of the lab's chat frame.)

Without --score-json it runs `npx rlhf-lab score --model DIR --text TEXT --json` in the repository
(Node and the repository's node_modules needed); with it, it reads that command's saved output (the
last line of the file is the JSON object {"ids": [...], "logprobs": [...]}).

It checks, and reports each:
  - the HF tokenizer's ids for the text equal the lab's (tokenizer.json read by `tokenizers`);
  - max |log p_HF - log p_lab| over the tokens, with the lab's ids as input, is at most --tolerance
    (default 1e-4: both sides are float32; the lab's own tests see ~1e-6 against float64).
Prints a human summary, then one JSON line {"tokens", "ids_match", "max_abs_diff", "tolerance", "ok"}.
Exit status: 0 ok, 1 above tolerance or ids differ, 2 usage or input errors, 3 torch/transformers
missing. Needs torch, transformers and safetensors (not installed in the lab's CI).
"""

import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="checkpoint folder (model.safetensors, config.json, tokenizer.json, tokenizer_config.json)")
    parser.add_argument("--text", required=True, help="text to score (at least 2 tokens)")
    parser.add_argument("--score-json", help="saved output of `rlhf-lab score --json` (default: run it)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |delta log-prob| (default 1e-4)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    return parser.parse_args()


def lab_score(args):
    """{"ids", "logprobs"} from the lab: the saved file, or a run of the CLI."""
    if args.score_json:
        with open(args.score_json, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"{args.score_json} is empty")
        return json.loads(lines[-1])
    command = ["npx", "rlhf-lab", "score", "--model", os.path.abspath(args.model_dir), "--text", args.text, "--json"]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({run.returncode}):\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def hf_logprobs(model_dir, ids, device):
    """Per-token log p(ids[i+1] | ids[..i]) from transformers' GPT2LMHeadModel, and the HF tokenizer."""
    import torch
    from transformers import AutoTokenizer, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = GPT2LMHeadModel.from_pretrained(model_dir, torch_dtype=torch.float32).to(device).eval()
    with torch.no_grad():
        input_ids = torch.tensor([ids[:-1]], dtype=torch.long, device=device)
        logits = model(input_ids).logits[0].double()  # (T, V)
        logprobs = torch.log_softmax(logits, dim=-1)
        targets = torch.tensor(ids[1:], dtype=torch.long, device=device)
        picked = logprobs.gather(1, targets[:, None])[:, 0]
    return tokenizer, picked.cpu().tolist()


def main():
    args = parse_args()
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as error:
        print(f"check_hf_compat: {error}; install torch, transformers and safetensors", file=sys.stderr)
        return 3
    try:
        lab = lab_score(args)
        ids, lab_logprobs = lab["ids"], lab["logprobs"]
        if len(ids) < 2 or len(lab_logprobs) != len(ids) - 1:
            raise ValueError(f"lab output has {len(ids)} ids and {len(lab_logprobs)} log-probs; expected n and n - 1 with n >= 2")
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        print(f"check_hf_compat: {error}", file=sys.stderr)
        return 2

    tokenizer, hf = hf_logprobs(args.model_dir, ids, args.device)
    hf_ids = tokenizer(args.text)["input_ids"]
    ids_match = hf_ids == ids
    diffs = [abs(a - b) for a, b in zip(hf, lab_logprobs)]
    max_diff = max(diffs)
    worst = diffs.index(max_diff)
    ok = ids_match and max_diff <= args.tolerance
    print(f"{len(ids)} tokens; HF tokenizer ids {'match' if ids_match else 'DIFFER from'} the lab's")
    if not ids_match:
        print(f"  lab: {ids}\n  HF:  {hf_ids}")
    print(f"max |log p_HF - log p_lab| = {max_diff:.3e} at token {worst + 1} (tolerance {args.tolerance:g}): {'ok' if ok else 'FAIL'}")
    print(json.dumps({"tokens": len(ids), "ids_match": ids_match, "max_abs_diff": max_diff, "tolerance": args.tolerance, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
