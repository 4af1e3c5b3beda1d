"""What the Python checks in tests/ share: running the trol binary as a user does, and seeded
random weights."""
import os
import shutil
import subprocess
import sys

import torch


def start_check():
    """The arguments TROL SOURCE_DIR WORK_DIR of a check: the reference's modules
    (scripts/reference) made importable, WORK_DIR emptied."""
    trol, source, work = sys.argv[1:4]
    sys.path.insert(0, os.path.join(source, "scripts", "reference"))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return trol, source, work


def run_trol(trol, args, expect_failure=None):
    """trol's (stdout, stderr). Exits with the output when trol fails, or, with `expect_failure`
    (a text or a list of texts that must all appear in the output), when it does not fail."""
    result = subprocess.run([trol, *args], capture_output=True, text=True)
    output = result.stdout + result.stderr
    command = f"trol {' '.join(args)}"
    if expect_failure is None:
        if result.returncode != 0:
            sys.exit(f"{command} failed:\n{output}")
    else:
        if result.returncode == 0:
            sys.exit(f"{command} should have failed ({expect_failure})")
        for part in [expect_failure] if isinstance(expect_failure, str) else expect_failure:
            if part not in output:
                sys.exit(f"{command}: expected {part!r} in:\n{output}")
    return result.stdout, result.stderr


def seeded_randn(seed, scale):
    """randn(*shape, scale=scale): normal values times `scale` from one generator seeded `seed`."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape, scale=scale):
        return torch.randn(*shape, generator=generator) * scale

    return randn


def llm_weights(randn, family, hidden, layers, heads, kv_heads, ffn, vocab):
    """A Phi-3 or InternLM2 backbone's tensors under Hugging Face's names (fused qkv and, for
    Phi-3, gate_up), drawn from `randn` (seeded_randn's)."""
    d = hidden // heads
    w = {}
    phi3 = family == "phi3"
    w["model.embed_tokens.weight" if phi3 else "model.tok_embeddings.weight"] = randn(vocab, hidden, scale=1.0)
    for i in range(layers):
        p = f"model.layers.{i}."
        if phi3:
            w[p + "input_layernorm.weight"] = 1 + randn(hidden, scale=0.1)
            w[p + "post_attention_layernorm.weight"] = 1 + randn(hidden, scale=0.1)
            w[p + "self_attn.qkv_proj.weight"] = randn((heads + 2 * kv_heads) * d, hidden)
            w[p + "self_attn.o_proj.weight"] = randn(hidden, heads * d)
            w[p + "mlp.gate_up_proj.weight"] = randn(2 * ffn, hidden)
            w[p + "mlp.down_proj.weight"] = randn(hidden, ffn)
        else:
            w[p + "attention_norm.weight"] = 1 + randn(hidden, scale=0.1)
            w[p + "ffn_norm.weight"] = 1 + randn(hidden, scale=0.1)
            w[p + "attention.wqkv.weight"] = randn((heads + 2 * kv_heads) * d, hidden)
            w[p + "attention.wo.weight"] = randn(hidden, heads * d)
            w[p + "feed_forward.w1.weight"] = randn(ffn, hidden)
            w[p + "feed_forward.w3.weight"] = randn(ffn, hidden)
            w[p + "feed_forward.w2.weight"] = randn(hidden, ffn)
    w["model.norm.weight"] = 1 + randn(hidden, scale=0.1)
    w["lm_head.weight" if phi3 else "output.weight"] = randn(vocab, hidden)
    return w
