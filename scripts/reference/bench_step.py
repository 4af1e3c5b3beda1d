"""The eager Python baseline of `trol bench --what train`: the same model, batch and step
(forward, loss over the supervised tokens, backward, gradient-norm clipping at 1.0, AdamW),
timed the same way, on Debian's python3-torch (the LibTorch build trol links):
    python3 scripts/reference/bench_step.py DIR [--warmup N] [--iterations N] [--threads N] [--json FILE]
DIR comes from `trol bench --what train --export DIR`. --threads sets torch's intra-op
threads; scripts/bench.sh passes the number trol used, so both run under the same settings."""
import argparse
import json
import statistics
import time

import torch

from exported_step import ExportedStep, adamw


def quantile(values, q):
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    below = int(at)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (at - below) * (ordered[above] - ordered[below])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    step = ExportedStep(args.folder)
    weights = step.parameters()
    trained = [weights[n] for n in sorted(step.trainable)]
    optimizer = adamw(weights, step.trainable)

    def one_step():
        optimizer.zero_grad()
        loss = step.loss(weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        one_step()
    seconds = []
    for _ in range(args.iterations):
        start = time.perf_counter()
        one_step()
        seconds.append(time.perf_counter() - start)
    tokens = step.batch["input_ids"].numel()
    median = statistics.median(seconds)
    result = {
        "implementation": "eager PyTorch " + torch.__version__,
        "threads": args.threads,
        "tokens_per_step": tokens,
        "iterations": args.iterations,
        "step_seconds": {"median": median, "p10": quantile(seconds, 0.1), "p90": quantile(seconds, 0.9),
                         "min": min(seconds), "max": max(seconds)},
        "tokens_per_second": tokens / median,
    }
    print(f"reference bench: step median {1e3 * median:.1f} ms, {tokens / median:.0f} tokens/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
