"""Phi-3's sliding window in trol against Hugging Face's own Phi-3 (transformers' modeling_phi3).

A tiny random Phi3ForCausalLM with a window of a few tokens is saved with save_pretrained
(safetensors) into a folder; `trol forward --model DIR` must give the logits of Hugging Face's
eager attention on sequences longer than the window (a batch of two rows of different lengths,
which trol right-pads), and greedy decoding with the KV cache must produce Hugging Face's
tokens while the decoded positions move past the window.

Which keys a window keeps: trol follows Phi-3's config as the released TroL-3.8B runs it, where
`sliding_window: W` lets the query at position i see the keys at i - W .. i (W + 1 keys; the
authors' code always runs flash-attention with window_size=(W, W), and transformers of that
time, 4.41, masks the same in eager). transformers 5 keeps one key fewer (i - W < j <= i), so
the reference here is built with sliding_window = W + 1, and the check also shows that trol is
neither full attention nor transformers 5's reading of W.

    phi3_window_check.py TROL WORK_DIR     (a Python with torch and transformers)
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file
from transformers import Phi3Config, Phi3ForCausalLM

from trol_check import run_trol

trol, work = sys.argv[1:3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
torch.manual_seed(5)

WINDOW = 4
VOCAB = 64
ROPE_THETA = 500.0  # not the default: transformers 5 saves it only inside rope_parameters


def run(*args):
    """trol's standard output and standard error."""
    return run_trol(trol, args)


def phi3(sliding_window):
    config = Phi3Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                        sliding_window=sliding_window, pad_token_id=0, bos_token_id=1, eos_token_id=None,
                        tie_word_embeddings=False, attn_implementation="eager", rope_theta=ROPE_THETA)
    return Phi3ForCausalLM(config).eval()


model = phi3(WINDOW)
with torch.no_grad():
    # Hugging Face's init (std 0.02) attends almost uniformly, where a window changes little;
    # larger weights give peaked attention, so keys dropped by the window show in the logits.
    for name, p in model.named_parameters():
        p.copy_(1 + 0.1 * torch.randn_like(p) if name.endswith("layernorm.weight") or name == "model.norm.weight"
                else 0.3 * torch.randn_like(p))
folder = os.path.join(work, "phi3")
model.save_pretrained(folder, safe_serialization=True)
saved = json.load(open(os.path.join(folder, "config.json")))
if saved.get("sliding_window") != WINDOW:
    sys.exit(f"save_pretrained wrote sliding_window {saved.get('sliding_window')}, expected {WINDOW}")
if "rope_theta" in saved or saved.get("rope_parameters", {}).get("rope_theta") != ROPE_THETA:
    sys.exit(f"save_pretrained no longer writes rope_theta in rope_parameters only: {saved}")


def reference(sliding_window):
    """Hugging Face's Phi-3 (eager attention) with the saved weights and this window."""
    ref = phi3(sliding_window)
    ref.load_state_dict(model.state_dict())
    return ref


released_reading = reference(WINDOW + 1)  # transformers 5's W + 1 = the released model's W
rows = [[int(t) for t in torch.randint(3, VOCAB, (n,))] for n in (13, 9)]  # both longer than the window
json.dump(rows, open(os.path.join(work, "ids.json"), "w"))
out_file = os.path.join(work, "logits.safetensors")
log = "".join(run("forward", "--model", folder, "--input-ids", os.path.join(work, "ids.json"), "--out", out_file,
                  "model.trol.traversal=false"))
if f"sliding_window {WINDOW}: each token attends to itself and the {WINDOW} tokens before it" not in log:
    sys.exit(f"trol forward does not report the sliding window of {WINDOW}:\n{log}")
logits = load_file(out_file)["logits"]
with torch.no_grad():
    for row, ids in enumerate(rows):
        got = logits[row, :len(ids)]
        x = torch.tensor([ids])
        expected = released_reading(x).logits[0]
        error = (got - expected).abs().max().item()
        if not error < 1e-4:
            sys.exit(f"row {row} ({len(ids)} tokens, window {WINDOW}): trol's logits differ from Hugging Face's "
                     f"by {error}")
        print(f"row {row} ({len(ids)} tokens, window {WINDOW}): logits match Hugging Face's Phi-3 "
              f"(max |diff| {error:.2e})")
        # Full attention agrees while the window holds every earlier token (W + 1 tokens),
        # transformers 5's reading of W while it holds W; after that both differ from trol's.
        for label, other, agree in (("full attention", reference(None), WINDOW + 1),
                                    ("transformers 5's reading of the window", reference(WINDOW), WINDOW)):
            other_logits = other(x).logits[0]
            inside = (got[:agree] - other_logits[:agree]).abs().max().item()
            beyond = (got[agree:] - other_logits[agree:]).abs().max(dim=-1).values.min().item()
            if not (inside < 1e-4 and beyond > 1e-3):
                sys.exit(f"row {row}: against {label}, |diff| {inside:.2e} over the first {agree} tokens and "
                         f"{beyond:.2e} at least at each later one: expected equal, then different")

# Greedy decoding with the cache: a 3-token prompt and 12 new tokens, so the decoded tokens
# attend across the window's edge; Hugging Face's generate uses its own (sliding) cache.
prompt = rows[0][:3]
new_tokens = 12
with torch.no_grad():
    def greedy(reference_model):
        return reference_model.generate(torch.tensor([prompt]), max_new_tokens=new_tokens, do_sample=False,
                                        use_cache=True, pad_token_id=0)[0, len(prompt):].tolist()
    expected_ids = greedy(released_reading)
    for label, window in (("full attention", None), ("transformers 5's reading of the window", WINDOW)):
        if greedy(reference(window)) == expected_ids:
            sys.exit(f"greedy decoding with {label} gives the same tokens: this prompt does not test the window")
json.dump(prompt, open(os.path.join(work, "prompt.json"), "w"))
for mode in ("exact", "released"):
    printed, _ = run("generate", "--model", folder, "--input-ids", os.path.join(work, "prompt.json"),
                     "--max-new-tokens", str(new_tokens), "--decode", mode, "model.trol.traversal=false")
    got_ids = json.loads(printed)[0]
    if got_ids != expected_ids:
        sys.exit(f"greedy decoding ({mode}, KV cache): trol {got_ids}, Hugging Face {expected_ids}")
    print(f"greedy decoding ({mode}, KV cache): {new_tokens} tokens as Hugging Face's")

# The same greedy tokens from full forwards over the growing sequence (trol forward, no cache).
sequence = list(prompt)
for _ in range(new_tokens):
    json.dump(sequence, open(os.path.join(work, "greedy.json"), "w"))
    run("forward", "--model", folder, "--input-ids", os.path.join(work, "greedy.json"), "--out", out_file,
        "model.trol.traversal=false")
    sequence.append(int(load_file(out_file)["logits"][0, -1].argmax()))
if sequence[len(prompt):] != expected_ids:
    sys.exit(f"greedy decoding by full forwards: trol {sequence[len(prompt):]}, Hugging Face {expected_ids}")
print(f"greedy decoding by full forwards: {new_tokens} tokens as Hugging Face's")

# The window survives trol import and trol export --format hf (the key as Phi-3's config has it).
run("import", "--llm", folder, "--out", os.path.join(work, "imported"), "model.trol.traversal=false")
if f"sliding_window: {WINDOW}" not in open(os.path.join(work, "imported", "config.yaml")).read():
    sys.exit(f"trol import did not keep sliding_window {WINDOW} in config.yaml")
run("export", "--model", os.path.join(work, "imported"), "--out", os.path.join(work, "exported"), "--format", "hf")
exported = json.load(open(os.path.join(work, "exported", "config.json")))
if exported.get("sliding_window") != WINDOW:
    sys.exit(f"trol export --format hf wrote sliding_window {exported.get('sliding_window')}, expected {WINDOW}")
print(f"trol import and export keep sliding_window {WINDOW}")
print("Phi-3's sliding window matches Hugging Face's Phi-3")
