"""Decoding parity past max_position_embeddings: `trol generate --input-ids` (greedy, exact and
released decoding) and `trol forward` against a reference of the TroL authors' modeling code,
written here from how that code computes the rotary embedding under KV-cached decoding:

  - InternLM2 `dynamic` (InternLM2DynamicNTKScalingRotaryEmbedding): each attention layer owns a
    cos/sin table, built at load time for max_position_embeddings positions with the plain base.
    A call whose key length (cached plus new tokens) exceeds the table's length rebuilds it for
    that length, with base * (factor * length / max - (factor - 1)) ** (dim / (dim - 2)) once the
    length exceeds max_position_embeddings; the call's new queries and keys are rotated with the
    table's rows at their positions, and the keys already cached keep their old rotation.
  - Phi-3 `longrope` (Phi3SuScaledRotaryEmbedding): each call chooses the long factors when
    max(position_ids) + 1 (its new tokens' positions) exceeds original_max_position_embeddings,
    and scales cos/sin by sqrt(1 + ln(max / original) / ln(original)).

The miniature backbones have max_position_embeddings (original, for Phi-3) 8, so greedy decoding
crosses it. Traversal (TroL) as the authors decode: `released` traverses the prompt only, the
second pass attending to the prompt's own keys; `exact` traverses every token with a cache per pass.

    rope_decode_check.py TROL SOURCE_DIR WORK_DIR
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from trol_check import llm_weights, run_trol, seeded_randn, start_check

trol, source, work = start_check()
import safetensors_io  # noqa: E402

randn = seeded_randn(12, scale=0.3)


def run(*args):
    return run_trol(trol, args)[0]


class InternLM2DynamicRotary:
    """One attention layer's table, as the authors' module keeps it between calls."""

    def __init__(self, dim, max_positions, base, factor):
        self.dim, self.max_positions, self.base, self.factor = dim, max_positions, base, factor
        self.inv_freq = self.frequencies(base)
        self.build(max_positions)

    def frequencies(self, base):
        return 1.0 / (base ** (torch.arange(0, self.dim, 2).float() / self.dim))

    def build(self, length):
        self.cached = length
        if length > self.max_positions:
            base = self.base * ((self.factor * length / self.max_positions) - (self.factor - 1)) ** (
                self.dim / (self.dim - 2))
            self.inv_freq = self.frequencies(base)
        angles = torch.outer(torch.arange(length).float(), self.inv_freq)
        emb = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def __call__(self, key_length, position_ids):
        if key_length > self.cached:
            self.build(key_length)
        return self.cos[position_ids][:, None], self.sin[position_ids][:, None]


class Phi3LongRotary:
    def __init__(self, dim, max_positions, original, base, short_factor, long_factor):
        self.dim, self.base, self.original = dim, base, original
        self.short_factor, self.long_factor = short_factor, long_factor
        ratio = max_positions / original
        self.scale = 1.0 if ratio <= 1.0 else math.sqrt(1 + math.log(ratio) / math.log(original))

    def __call__(self, key_length, position_ids):
        factors = self.long_factor if int(position_ids.max()) + 1 > self.original else self.short_factor
        inv_freq = 1.0 / (torch.tensor(factors, dtype=torch.float32) *
                          self.base ** (torch.arange(0, self.dim, 2).float() / self.dim))
        angles = position_ids.float()[..., None] * inv_freq
        emb = torch.cat((angles, angles), dim=-1)
        return (emb.cos() * self.scale)[:, None], (emb.sin() * self.scale)[:, None]


class PlainRotary:
    def __init__(self, dim, base):
        self.inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))

    def __call__(self, key_length, position_ids):
        angles = position_ids.float()[..., None] * self.inv_freq
        emb = torch.cat((angles, angles), dim=-1)
        return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


class Backbone:
    def __init__(self, family, config, weights, gates, rotary_factory):
        self.family, self.c, self.w, self.gates = family, config, weights, gates
        self.rotary_factory = rotary_factory
        self.heads, self.kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
        self.d = config["hidden_size"] // self.heads

    def name(self, i, phi3_name, internlm2_name):
        return f"model.layers.{i}." + (phi3_name if self.family == "phi3" else internlm2_name) + ".weight"

    def layer(self, i, x, rotary, position_ids, past, mask):
        """One decoder layer on new tokens x [b, t, h] after `past` (keys, values) or None;
        `mask` [b, past + t] marks real tokens (left padding: 0)."""
        w, eps, d = self.w, self.c["rms_norm_eps"], self.d
        b, t, _ = x.shape
        y = rms_norm(x, w[self.name(i, "input_layernorm", "attention_norm")], eps)
        qkv = y @ w[self.name(i, "self_attn.qkv_proj", "attention.wqkv")].T
        if self.family == "phi3":
            q, k, v = qkv.split([self.heads * d, self.kv_heads * d, self.kv_heads * d], dim=-1)
            q, k, v = q.view(b, t, self.heads, d), k.view(b, t, self.kv_heads, d), v.view(b, t, self.kv_heads, d)
        else:
            groups = self.heads // self.kv_heads
            packed = qkv.view(b, t, self.kv_heads, groups + 2, d)
            q, k, v = packed[:, :, :, :groups].reshape(b, t, self.heads, d), packed[:, :, :, -2], packed[:, :, :, -1]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        past_length = 0 if past is None else past[0].shape[2]
        cos, sin = rotary(past_length + t, position_ids)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        cache = (k, v)
        repeat = self.heads // self.kv_heads
        scores = q @ k.repeat_interleave(repeat, 1).transpose(-1, -2) / math.sqrt(d)
        allowed = torch.ones(t, past_length + t, dtype=torch.bool).tril(past_length)[None, None] & \
            mask.bool()[:, None, None, :]
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        attended = (scores.softmax(-1) @ v.repeat_interleave(repeat, 1)).transpose(1, 2).reshape(b, t, -1)
        x = x + attended @ w[self.name(i, "self_attn.o_proj", "attention.wo")].T
        y = rms_norm(x, w[self.name(i, "post_attention_layernorm", "ffn_norm")], eps)
        if self.family == "phi3":
            gate, up = (y @ w[f"model.layers.{i}.mlp.gate_up_proj.weight"].T).chunk(2, dim=-1)
            down = w[f"model.layers.{i}.mlp.down_proj.weight"]
        else:
            gate = y @ w[f"model.layers.{i}.feed_forward.w1.weight"].T
            up = y @ w[f"model.layers.{i}.feed_forward.w3.weight"].T
            down = w[f"model.layers.{i}.feed_forward.w2.weight"]
        return x + (F.silu(gate) * up) @ down.T, cache

    def call(self, ids, rotaries, caches, mode, mask):
        """The authors' TroL model on new token ids [b, t] (`mask` [b, cached + t]): a call with more
        than one token (the prompt) traverses each layer; a single token traverses only in `exact`
        mode. Positions as their prepare_inputs_for_generation makes them: cumsum(mask) - 1, 1 on padding."""
        embed = self.w["model.embed_tokens.weight" if self.family == "phi3" else "model.tok_embeddings.weight"]
        x = embed[ids]
        position_ids = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)[:, -ids.shape[1]:]
        for i in range(self.c["num_hidden_layers"]):
            first = None if caches[i] is None else caches[i][0]
            second = None if caches[i] is None or len(caches[i]) < 2 else caches[i][1]
            if ids.shape[1] > 1 or mode == "exact":
                h1, kv1 = self.layer(i, x, rotaries[i], position_ids, first, mask)
                h2, kv2 = self.layer(i, h1, rotaries[i], position_ids, second if mode == "exact" else None, mask)
                ratio = 0.5 * torch.tanh(h1 @ self.gates[i][0].T + self.gates[i][1]) + 0.5
                x = h1 * (1 - ratio) + h2 * ratio
                caches[i] = (kv1, kv2) if mode == "exact" else (kv1,)
            else:
                x, kv1 = self.layer(i, x, rotaries[i], position_ids, first, mask)
                caches[i] = (kv1,)
        x = rms_norm(x, self.w["model.norm.weight"], self.c["rms_norm_eps"])
        return x @ self.w["lm_head.weight" if self.family == "phi3" else "output.weight"].T

    def fresh(self):
        return [self.rotary_factory() for _ in range(self.c["num_hidden_layers"])]

    def logits(self, ids):
        """One forward over the whole sequence, a freshly loaded model's."""
        return self.call(torch.tensor([ids]), self.fresh(), [None] * self.c["num_hidden_layers"], "exact",
                         torch.ones(1, len(ids), dtype=torch.long))[0]

    def greedy(self, prompts, new_tokens, mode):
        """Greedy ids of each prompt, decoded together, left-padded (pad id 0), as one batch."""
        longest = max(len(p) for p in prompts)
        ids = torch.tensor([[0] * (longest - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (longest - len(p)) + [1] * len(p) for p in prompts])
        rotaries, caches = self.fresh(), [None] * self.c["num_hidden_layers"]
        generated, margins = [[] for _ in prompts], []
        for _ in range(new_tokens):
            last = self.call(ids, rotaries, caches, mode, mask)[:, -1]
            top = last.topk(2, dim=-1).values
            margins.append(float((top[:, 0] - top[:, 1]).min()))
            chosen = last.argmax(-1)
            for row, token in enumerate(chosen.tolist()):
                generated[row].append(token)
            ids = chosen[:, None]
            mask = torch.cat([mask, torch.ones(len(prompts), 1, dtype=torch.long)], dim=1)
        return generated, min(margins)


def backbone_weights(family, c):
    return llm_weights(randn, family, c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                       c["num_key_value_heads"], c["intermediate_size"], c["vocab_size"])


def trol_checkpoint(label, family, config):
    """A Hugging Face folder imported by trol, with random gates written into the checkpoint."""
    folder, checkpoint = f"{work}/{label}_hf", f"{work}/{label}"
    os.makedirs(folder)
    weights = backbone_weights(family, config)
    json.dump(config, open(f"{folder}/config.json", "w"), indent=1)
    safetensors_io.save(f"{folder}/model.safetensors", weights)
    run("import", "--llm", folder, "--out", checkpoint)
    tensors = safetensors_io.load(f"{checkpoint}/model.safetensors")
    gates = []
    for i in range(config["num_hidden_layers"]):
        gate = (randn(1, config["hidden_size"]), randn(1, scale=0.5))
        tensors[f"model.trol_gating.{i}.weight"], tensors[f"model.trol_gating.{i}.bias"] = gate
        gates.append(gate)
    safetensors_io.save(f"{checkpoint}/model.safetensors", tensors)
    return checkpoint, weights, gates


def trol_generate(checkpoint, prompts, new_tokens, mode):
    path = f"{work}/prompts.json"
    json.dump(prompts, open(path, "w"))
    return json.loads(run("generate", "--model", checkpoint, "--input-ids", path, "--max-new-tokens", str(new_tokens),
                          "--decode", mode))


def trol_logits(checkpoint, ids, *overrides):
    json.dump([ids], open(f"{work}/forward.json", "w"))
    run("forward", "--model", checkpoint, "--input-ids", f"{work}/forward.json", "--out", f"{work}/forward.out",
        *overrides)
    return safetensors_io.load(f"{work}/forward.out")["logits"][0]


def check_family(label, family, config, rotary_factory, plain_factory, prompts, new_tokens):
    checkpoint, weights, gates = trol_checkpoint(label, family, config)
    reference = Backbone(family, config, weights, gates, rotary_factory)
    plain = Backbone(family, config, weights, gates, plain_factory)
    limit = config.get("original_max_position_embeddings", config["max_position_embeddings"])
    # Each prompt alone, then both as one left-padded batch: the authors' key length counts the
    # padding, so the shorter prompt's rotation there differs from its rotation alone.
    for batch in [[prompt] for prompt in prompts] + [prompts]:
        assert min(len(p) for p in batch) + new_tokens > limit + 2, "the decoding must cross the limit"
        what = f"{len(batch[0])}-token prompt" if len(batch) == 1 else \
            f"batch of {' and '.join(str(len(p)) for p in batch)}-token prompts"
        for mode in ("exact", "released"):
            expected, margin = reference.greedy(batch, new_tokens, mode)
            if margin < 1e-4:  # trol and the reference differ by ~1e-5 in the logits
                sys.exit(f"{label}: the reference's greedy choice is a near tie ({margin}); pick another seed")
            if plain.greedy(batch, new_tokens, mode)[0] == expected:
                sys.exit(f"{label}: plain RoPE gives the same tokens; the check would not see the scaling")
            got = trol_generate(checkpoint, batch, new_tokens, mode)
            if got != expected:
                sys.exit(f"{label}, {mode} decoding of a {what}: trol {got}, the authors' code {expected}")
            print(f"{label}, {mode} decoding of a {what}, {new_tokens} new tokens: trol's greedy ids equal the "
                  f"reference's {expected} (smallest top-2 margin {margin:.3f})")
    for prompt in prompts:
        expected = reference.greedy([prompt], new_tokens, "released")[0][0]
        sequence = prompt + expected
        want = reference.logits(sequence)
        # A text-only model still reads its image token id (default: the last) as an image position.
        unused = max(set(range(config["vocab_size"])) - set(sequence))
        error = (trol_logits(checkpoint, sequence, f"model.image_token_id={unused}") - want).abs().max().item()
        if not error < 2e-4:
            plain_error = (plain.logits(sequence) - want).abs().max().item()
            sys.exit(f"{label}: trol forward's logits over {len(sequence)} tokens differ from the reference by "
                     f"{error} (plain RoPE would differ by {plain_error})")
        print(f"{label}: trol forward over {len(sequence)} tokens matches the reference (max |diff| {error:.2e})")


internlm2_config = {"architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2", "vocab_size": 64,
                    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                    "intermediate_size": 48, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                    "rope_scaling": {"type": "dynamic", "factor": 2.0}, "max_position_embeddings": 8,
                    "bias": False, "tie_word_embeddings": False}
check_family("internlm2 dynamic", "internlm2", internlm2_config,
             lambda: InternLM2DynamicRotary(8, 8, 10000.0, 2.0), lambda: PlainRotary(8, 10000.0),
             prompts=[[5, 17, 42, 9, 33], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]], new_tokens=10)

# The scaling survives export: config.json carries it back as the authors' code reads it.
run("export", "--model", f"{work}/internlm2 dynamic", "--out", f"{work}/internlm2_exported", "--format", "hf")
exported = json.load(open(f"{work}/internlm2_exported/config.json"))["rope_scaling"]
if exported != {"type": "dynamic", "factor": 2.0}:
    sys.exit(f"trol export --format hf wrote rope_scaling {exported}, not InternLM2's dynamic scaling")
print("trol export --format hf writes InternLM2's dynamic rope_scaling back")

short_factor = [1.0, 1.1, 1.3, 1.7]
long_factor = [1.0, 2.5, 6.0, 15.0]
phi3_config = {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "vocab_size": 64, "hidden_size": 32,
               "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 48,
               "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
               "rope_scaling": {"type": "su", "short_factor": short_factor, "long_factor": long_factor},
               "max_position_embeddings": 32, "original_max_position_embeddings": 8, "sliding_window": 2047,
               "tie_word_embeddings": False, "attention_bias": False}
check_family("phi3 longrope", "phi3", phi3_config,
             lambda: Phi3LongRotary(8, 32, 8, 10000.0, short_factor, long_factor), lambda: PlainRotary(8, 10000.0),
             prompts=[[5, 17, 42, 9, 33], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]], new_tokens=10)

print("trol decodes past max_position_embeddings token for token as the authors' code does")
