"""An independent, eager PyTorch implementation of trol's model, written from the Hugging Face
semantics of each part (Phi-3 / InternLM2 decoder layers, CLIP and InternViT vision towers, LLaVA's
and InternVL's projectors) and the TroL paper's traversal rule, not from trol's C++ sources. Tests compare trol's loss
and gradients with it; scripts/bench.sh times trol against it.

Functional on purpose: the weights are a {name: tensor} dict under trol's (= Hugging Face's)
parameter names, so a trol checkpoint loads as it is.
"""
import math

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def rms_norm(x, weight, eps):
    x32 = x.float()
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normed.to(x.dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rotary(positions, head_dim, theta, dtype, scaling=None, max_positions=None):
    """cos, sin of shape [batch, 1, seq, head_dim] (HF's rotate-half convention). `scaling`:
    Phi-3's longrope {"short_factor", "long_factor", "original_max_position_embeddings"}, as its
    modeling code applies it (long factors once the longest position reaches past the original
    length; cos and sin scaled by sqrt(1 + ln(max / original) / ln(original)))."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    scale = 1.0
    if scaling is not None:
        original = scaling["original_max_position_embeddings"]
        factors = scaling["long_factor"] if int(positions.max()) + 1 > original else scaling["short_factor"]
        inv_freq = inv_freq / torch.tensor(factors, dtype=torch.float32)
        ratio = max_positions / original
        scale = 1.0 if ratio <= 1.0 else math.sqrt(1 + math.log(ratio) / math.log(original))
    angles = positions.float()[..., None] * inv_freq
    emb = torch.cat((angles, angles), dim=-1)
    return (emb.cos() * scale).to(dtype)[:, None], (emb.sin() * scale).to(dtype)[:, None]


def attention_bias(attention_mask, dtype):
    """Additive mask [batch, 1, seq, seq]: causal, and no attention to padding keys."""
    seq = attention_mask.shape[1]
    causal = torch.ones(seq, seq, dtype=torch.bool).tril()
    allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]
    return torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)


class Layout:
    """Weight names of one decoder family."""

    def __init__(self, family):
        self.phi3 = family == "phi3"
        if family not in ("phi3", "internlm2"):
            raise ValueError(f"unknown family {family!r}")
        self.embed = "model.embed_tokens.weight" if self.phi3 else "model.tok_embeddings.weight"
        self.head = "lm_head.weight" if self.phi3 else "output.weight"

    def layer(self, i, part):
        names = {
            "attn_norm": ("input_layernorm", "attention_norm"),
            "mlp_norm": ("post_attention_layernorm", "ffn_norm"),
            "qkv": ("self_attn.qkv_proj", "attention.wqkv"),
            "o": ("self_attn.o_proj", "attention.wo"),
        }[part]
        return f"model.layers.{i}.{names[0] if self.phi3 else names[1]}"


def decoder_layer(w, cfg, layout, i, x, cos, sin, bias):
    b, t, h = x.shape
    heads, kv_heads = cfg["num_heads"], cfg["num_kv_heads"]
    d = h // heads
    prefix = lambda part: layout.layer(i, part)
    maybe_bias = lambda name: w.get(name + ".bias")

    y = rms_norm(x, w[prefix("attn_norm") + ".weight"], cfg["rms_norm_eps"])
    qkv = F.linear(y, w[prefix("qkv") + ".weight"], maybe_bias(prefix("qkv")))
    if layout.phi3:
        q, k, v = qkv.split([heads * d, kv_heads * d, kv_heads * d], dim=-1)
        q = q.view(b, t, heads, d)
        k = k.view(b, t, kv_heads, d)
        v = v.view(b, t, kv_heads, d)
    else:  # InternLM2: per KV group, its query heads, then its key, then its value
        groups = heads // kv_heads
        packed = qkv.view(b, t, kv_heads, groups + 2, d)
        q = packed[:, :, :, :groups].reshape(b, t, heads, d)
        k, v = packed[:, :, :, -2], packed[:, :, :, -1]
    q, k, v = (z.transpose(1, 2) for z in (q, k, v))
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    k = k.repeat_interleave(heads // kv_heads, dim=1)
    v = v.repeat_interleave(heads // kv_heads, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
    attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, heads * d)
    x = x + F.linear(attended, w[prefix("o") + ".weight"], maybe_bias(prefix("o")))

    y = rms_norm(x, w[prefix("mlp_norm") + ".weight"], cfg["rms_norm_eps"])
    if layout.phi3:
        gate, up = F.linear(y, w[f"model.layers.{i}.mlp.gate_up_proj.weight"]).chunk(2, dim=-1)
        down = w[f"model.layers.{i}.mlp.down_proj.weight"]
    else:
        gate = F.linear(y, w[f"model.layers.{i}.feed_forward.w1.weight"])
        up = F.linear(y, w[f"model.layers.{i}.feed_forward.w3.weight"])
        down = w[f"model.layers.{i}.feed_forward.w2.weight"]
    return x + F.linear(F.silu(gate) * up, down)


def pixel_shuffle(x, scale=0.5):
    """InternVL's pixel_shuffle (ps_version v2) on a token grid [n, g*g, c] -> [n, (g*scale)^2, c/scale^2]."""
    n, t, c = x.shape
    g = int(round(t ** 0.5))
    x = x.reshape(n, g, g, c)
    x = x.reshape(n, g, int(g * scale), int(c / scale)).permute(0, 2, 1, 3).contiguous()
    x = x.reshape(n, int(g * scale), int(g * scale), int(c / (scale * scale))).permute(0, 2, 1, 3).contiguous()
    return x.reshape(n, -1, x.shape[-1])


def vision_tower(w, vcfg, pixels):
    """Image features as the models built on each tower select them: CLIP ViT (LLaVA) or InternViT
    (InternVL: layer scale, fused qkv, no pre-LayerNorm, pixel shuffle): hidden state
    `select_layer`, class token dropped."""
    if vcfg["pretrained_image_size"] not in (0, vcfg["image_size"]):
        raise NotImplementedError("the reference covers towers at their pretrained size")
    intern = vcfg.get("architecture", "clip") == "internvit"
    p = "vision_model."
    n, hidden, heads = pixels.shape[0], vcfg["hidden_size"], vcfg["num_heads"]
    eps = vcfg["layer_norm_eps"]
    patches = F.conv2d(pixels, w[p + "embeddings.patch_embedding.weight"], w.get(p + "embeddings.patch_embedding.bias"),
                       stride=vcfg["patch_size"])
    patches = patches.flatten(2).transpose(1, 2)
    cls = w[p + "embeddings.class_embedding"].reshape(1, 1, hidden).expand(n, 1, hidden)
    positions = w[p + "embeddings.position_embedding"] if intern else w[p + "embeddings.position_embedding.weight"]
    x = torch.cat([cls, patches], dim=1) + positions.reshape(1, -1, hidden)
    if not intern:
        x = F.layer_norm(x, (hidden,), w[p + "pre_layrnorm.weight"], w[p + "pre_layrnorm.bias"], eps)
    names = {"norm1": "norm1", "norm2": "norm2", "out": "attn.proj"} if intern else \
            {"norm1": "layer_norm1", "norm2": "layer_norm2", "out": "self_attn.out_proj"}
    layers = vcfg["num_layers"]
    wanted = vcfg["select_layer"] if vcfg["select_layer"] >= 0 else layers + 1 + vcfg["select_layer"]
    for i in range(wanted):
        q = f"{p}encoder.layers.{i}."
        lin = lambda z, name: F.linear(z, w[q + name + ".weight"], w[q + name + ".bias"])
        y = F.layer_norm(x, (hidden,), w[q + names["norm1"] + ".weight"], w[q + names["norm1"] + ".bias"], eps)
        t, d = y.shape[1], hidden // heads
        split = lambda z: z.reshape(n, t, heads, d).transpose(1, 2)
        if intern:
            query, key, value = lin(y, "attn.qkv").chunk(3, dim=-1)
        else:
            query, key, value = lin(y, "self_attn.q_proj"), lin(y, "self_attn.k_proj"), lin(y, "self_attn.v_proj")
        scores = split(query) @ split(key).transpose(-1, -2) * d ** -0.5
        attended = (scores.softmax(-1) @ split(value)).transpose(1, 2).reshape(n, t, hidden)
        branch = lin(attended, names["out"])
        x = x + (branch * w[q + "ls1"] if intern else branch)
        y = F.layer_norm(x, (hidden,), w[q + names["norm2"] + ".weight"], w[q + names["norm2"] + ".bias"], eps)
        y = lin(y, "mlp.fc1")
        y = y * torch.sigmoid(1.702 * y) if vcfg["activation"] == "quick_gelu" else F.gelu(y)
        branch = lin(y, "mlp.fc2")
        x = x + (branch * w[q + "ls2"] if intern else branch)
    x = x[:, 1:] if vcfg["drop_class_token"] else x
    return pixel_shuffle(x, vcfg["downsample_ratio"]) if vcfg["downsample_ratio"] != 1.0 else x


def projector(w, kind, features):
    if kind == "ln_mlp2x_gelu":
        features = F.layer_norm(features, features.shape[-1:], w["vision_proj.0.weight"], w["vision_proj.0.bias"])
        first = 1
    elif kind == "mlp2x_gelu":
        first = 0
    else:
        raise NotImplementedError(f"projector {kind!r}")
    y = F.gelu(F.linear(features, w[f"vision_proj.{first}.weight"], w[f"vision_proj.{first}.bias"]))
    return F.linear(y, w[f"vision_proj.{first + 2}.weight"], w[f"vision_proj.{first + 2}.bias"])


def forward(w, cfg, input_ids, attention_mask, pixel_values=None):
    """Logits [batch, seq, vocab] of trol's model described by `cfg` (the "model" object that
    `trol bench` writes)."""
    layout = Layout(cfg["family"])
    embed = w[layout.embed]
    image_mask = input_ids == cfg["image_token_id"] if cfg.get("vision") else torch.zeros_like(input_ids, dtype=torch.bool)
    x = F.embedding(input_ids.masked_fill(image_mask, 0), embed)
    if pixel_values is not None and pixel_values.shape[0] > 0:
        features = projector(w, cfg["projector"], vision_tower(w, cfg["vision_config"], pixel_values.to(x.dtype)))
        x = x.clone()
        x[image_mask] = features.reshape(-1, x.shape[-1]).to(x.dtype)

    positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    cos, sin = rotary(positions, cfg["hidden_size"] // cfg["num_heads"], cfg["rope_theta"], x.dtype,
                      cfg.get("rope_scaling"), cfg.get("max_position_embeddings"))
    bias = attention_bias(attention_mask, x.dtype)
    for i in range(cfg["num_layers"]):
        h1 = decoder_layer(w, cfg, layout, i, x, cos, sin, bias)
        if not cfg["traversal"]:
            x = h1
            continue
        # TroL: the same layer again, and a per-token mixing ratio from the first pass's output.
        h2 = decoder_layer(w, cfg, layout, i, h1, cos, sin, bias)
        g = 0 if cfg["shared_gate"] else i
        ratio = 0.5 * torch.tanh(F.linear(h1, w[f"model.trol_gating.{g}.weight"], w[f"model.trol_gating.{g}.bias"])) + 0.5
        x = (1 - ratio) * h1 + ratio * h2
    x = rms_norm(x, w["model.norm.weight"], cfg["rms_norm_eps"])
    return F.linear(x, embed if cfg["tie_word_embeddings"] else w[layout.head])


def loss_sum(logits, labels):
    """Summed next-token cross-entropy over the supervised positions, and their count."""
    shifted = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
    targets = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shifted, targets, ignore_index=IGNORE_INDEX, reduction="sum"), int((targets != IGNORE_INDEX).sum())

