"""`trol forward --image-features` and `trol generate --input-ids --image-features`: the vision
tower's output computed elsewhere (here by the independent Python reference,
scripts/reference/reference_model.py) and fed to the rest of trol's model must give the logits and
the greedy ids that --pixel-values gives, for both towers in the authors' form:

  - CLIP (TroL-1.8B/7B): what their clip_features returns, the selected layer's hidden state
    without the class token (LLaVA's feature_select "patch"), [images, patches, C];
  - InternViT (TroL-3.8B): what their extract_feature reads, last_hidden_state with the class
    token, [tiles, 1 + patches, C] (trol drops the class token and pixel-shuffles).

Wrong shapes must fail naming the file, the expected and the given shape.

    image_features_check.py TROL SOURCE_DIR WORK_DIR
"""
import json
import os
import sys

import torch

from trol_check import llm_weights, run_trol, seeded_randn, start_check

trol, source, work = start_check()
import reference_model  # noqa: E402
import safetensors_io  # noqa: E402

randn = seeded_randn(5, scale=0.2)


def run(*args, expect_failure=None):
    return run_trol(trol, args, expect_failure)[0]


def write_folder(folder, config, weights):
    os.makedirs(folder)
    json.dump(config, open(f"{folder}/config.json", "w"), indent=1)
    safetensors_io.save(f"{folder}/model.safetensors", weights)


def llm_folder(folder, family, hidden, heads, kv_heads, vocab, extra):
    ffn, phi3 = 2 * hidden, family == "phi3"
    w = llm_weights(randn, family, hidden, 2, heads, kv_heads, ffn, vocab)
    config = dict({"architectures": ["Phi3ForCausalLM" if phi3 else "InternLM2ForCausalLM"], "model_type": family,
                   "vocab_size": vocab, "hidden_size": hidden, "num_hidden_layers": 2, "num_attention_heads": heads,
                   "num_key_value_heads": kv_heads, "intermediate_size": ffn, "hidden_act": "silu",
                   "rms_norm_eps": 1e-5, "rope_scaling": None, "max_position_embeddings": 256,
                   "tie_word_embeddings": False}, **extra)
    write_folder(folder, config, w)


def vision_layers(w, prefix, hidden, intern):
    for i in range(3):
        p = f"{prefix}encoder.layers.{i}."
        if intern:
            w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"] = randn(3 * hidden, hidden), randn(3 * hidden)
            w[p + "attn.proj.weight"], w[p + "attn.proj.bias"] = randn(hidden, hidden), randn(hidden)
            w[p + "ls1"], w[p + "ls2"] = 0.5 + randn(hidden), 0.5 + randn(hidden)
            norms = ("norm1", "norm2")
        else:
            for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
                w[p + f"self_attn.{name}.weight"], w[p + f"self_attn.{name}.bias"] = randn(hidden, hidden), randn(hidden)
            norms = ("layer_norm1", "layer_norm2")
        for name in norms:
            w[p + f"{name}.weight"], w[p + f"{name}.bias"] = 1 + randn(hidden), randn(hidden)
        w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"] = randn(2 * hidden, hidden), randn(2 * hidden)
        w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"] = randn(hidden, 2 * hidden), randn(hidden)


def logits_of(out_file):
    return safetensors_io.load(out_file)["logits"]


def check(label, checkpoint, cfg, ids, pixels, features, feature_name):
    """--image-features (the reference tower's output) against --pixel-values and the reference."""
    json.dump(ids, open(f"{work}/ids.json", "w"))
    safetensors_io.save(f"{work}/pixels.safetensors", {"pixel_values": pixels})
    safetensors_io.save(f"{work}/features.safetensors", {feature_name: features})
    run("forward", "--model", checkpoint, "--input-ids", f"{work}/ids.json", "--pixel-values",
        f"{work}/pixels.safetensors", "--out", f"{work}/from_pixels.out")
    run("forward", "--model", checkpoint, "--input-ids", f"{work}/ids.json", "--image-features",
        f"{work}/features.safetensors", "--out", f"{work}/from_features.out")
    weights = safetensors_io.load(f"{checkpoint}/model.safetensors")
    ids_t = torch.tensor(ids)
    reference = reference_model.forward(weights, cfg, ids_t, torch.ones_like(ids_t), pixels)
    from_pixels, from_features = logits_of(f"{work}/from_pixels.out"), logits_of(f"{work}/from_features.out")
    between = (from_pixels - from_features).abs().max().item()
    to_reference = (from_features - reference).abs().max().item()
    if not (between < 1e-4 and to_reference < 2e-4):
        sys.exit(f"{label}: --image-features logits differ from --pixel-values by {between}, "
                 f"from the reference by {to_reference}")
    print(f"{label}: --image-features gives --pixel-values' logits (max |diff| {between:.2e}; "
          f"reference {to_reference:.2e})")
    prompt = [row for row in ids]
    json.dump(prompt, open(f"{work}/prompt.json", "w"))
    for mode in ("exact", "released"):
        common = ["generate", "--model", checkpoint, "--input-ids", f"{work}/prompt.json", "--max-new-tokens", "6",
                  "--decode", mode]
        with_pixels = json.loads(run(*common, "--pixel-values", f"{work}/pixels.safetensors"))
        with_features = json.loads(run(*common, "--image-features", f"{work}/features.safetensors"))
        if with_pixels != with_features or len(with_features) != len(ids):
            sys.exit(f"{label}, {mode}: generate --image-features {with_features}, --pixel-values {with_pixels}")
        print(f"{label}, {mode} decoding: generate --image-features gives --pixel-values' ids {with_features}")


# TroL-1.8B's shape of model: InternLM2 with CLIP, the authors' last CLIP layer (select_layer -1)
llm_folder(f"{work}/internlm2", "internlm2", 32, 4, 2, 64, {"rope_theta": 1e6, "bias": False})
clip = {"vision_model.embeddings.class_embedding": randn(16),
        "vision_model.embeddings.patch_embedding.weight": randn(16, 3, 8, 8),
        "vision_model.embeddings.position_embedding.weight": randn(17, 16),
        "vision_model.pre_layrnorm.weight": 1 + randn(16), "vision_model.pre_layrnorm.bias": randn(16),
        "vision_model.post_layernorm.weight": randn(16), "vision_model.post_layernorm.bias": randn(16)}
vision_layers(clip, "vision_model.", 16, intern=False)
write_folder(f"{work}/clip", {"model_type": "clip_vision_model", "hidden_size": 16, "intermediate_size": 32,
                              "num_hidden_layers": 3, "num_attention_heads": 2, "image_size": 32,
                              "patch_size": 8}, clip)
run("import", "--llm", f"{work}/internlm2", "--vision", f"{work}/clip", "--out", f"{work}/clip_trol",
    "model.image_token_id=63", "model.vision.select_layer=-1")
clip_vision = {"architecture": "clip", "image_size": 32, "pretrained_image_size": 0, "patch_size": 8, "hidden_size": 16,
               "num_heads": 2, "num_layers": 3, "layer_norm_eps": 1e-5, "activation": "quick_gelu", "select_layer": -1,
               "drop_class_token": True, "downsample_ratio": 1.0}
clip_cfg = {"family": "internlm2", "hidden_size": 32, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2,
            "rope_theta": 1e6, "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True,
            "shared_gate": False, "vision": True, "image_token_id": 63, "projector": "mlp2x_gelu",
            "vision_config": clip_vision}
clip_weights = safetensors_io.load(f"{work}/clip_trol/model.safetensors")
clip_ids = [[1, 2] + [63] * 16 + [7, 8], [3] + [63] * 16 + [4, 5, 6]]
clip_pixels = randn(2, 3, 32, 32, scale=1.0)
# The tower as the authors' clip_features returns it: hidden_states[-1][:, 1:]
clip_features = reference_model.vision_tower(clip_weights, clip_vision, clip_pixels)
assert clip_features.shape == (2, 16, 16)
check("internlm2 + CLIP", f"{work}/clip_trol", clip_cfg, clip_ids, clip_pixels, clip_features, "image_features")

# TroL-3.8B's shape of model: Phi-3 with InternViT, pixel shuffle, InternVL's LayerNorm projector
llm_folder(f"{work}/phi3", "phi3", 32, 4, 4, 64, {"rope_theta": 1e4, "original_max_position_embeddings": 256,
                                                  "attention_bias": False})
internvit = {"embeddings.class_embedding": randn(1, 1, 16), "embeddings.patch_embedding.weight": randn(16, 3, 7, 7),
             "embeddings.patch_embedding.bias": randn(16), "embeddings.position_embedding": randn(1, 17, 16)}
vision_layers(internvit, "", 16, intern=True)
write_folder(f"{work}/internvit", {"architectures": ["InternVisionModel"], "model_type": "intern_vit_6b",
                                   "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3,
                                   "num_attention_heads": 2, "image_size": 28, "patch_size": 7, "qkv_bias": True,
                                   "qk_normalization": False, "norm_type": "layer_norm", "layer_norm_eps": 1e-6,
                                   "hidden_act": "gelu"}, internvit)
run("import", "--llm", f"{work}/phi3", "--vision", f"{work}/internvit", "--out", f"{work}/internvit_trol",
    "model.image_token_id=63")
intern_vision = {"architecture": "internvit", "image_size": 28, "pretrained_image_size": 0, "patch_size": 7,
                 "hidden_size": 16, "num_heads": 2, "num_layers": 3, "layer_norm_eps": 1e-6, "activation": "gelu",
                 "select_layer": -1, "drop_class_token": True, "downsample_ratio": 0.5}
intern_cfg = {"family": "phi3", "hidden_size": 32, "num_layers": 2, "num_heads": 4, "num_kv_heads": 4,
              "rope_theta": 1e4, "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True,
              "shared_gate": False, "vision": True, "image_token_id": 63, "projector": "ln_mlp2x_gelu",
              "vision_config": intern_vision}
intern_weights = safetensors_io.load(f"{work}/internvit_trol/model.safetensors")
intern_ids = [[1, 2] + [63] * 4 + [7, 8, 9, 10, 11], [3] + [63] * 4 + [4, 5] + [63] * 4]
intern_pixels = randn(3, 3, 28, 28, scale=1.0)
# InternViT's last_hidden_state, class token included: the reference tower without its drop and shuffle
intern_features = reference_model.vision_tower(
    intern_weights, dict(intern_vision, drop_class_token=False, downsample_ratio=1.0), intern_pixels)
assert intern_features.shape == (3, 17, 16)
check("phi3 + InternViT", f"{work}/internvit_trol", intern_cfg, intern_ids, intern_pixels, intern_features,
      "last_hidden_state")

# Wrong inputs: the file, the expected and the given shape
json.dump(intern_ids, open(f"{work}/ids.json", "w"))
safetensors_io.save(f"{work}/no_class_token.safetensors", {"features": intern_features[:, 1:]})
run("forward", "--model", f"{work}/internvit_trol", "--input-ids", f"{work}/ids.json", "--image-features",
    f"{work}/no_class_token.safetensors", "--out", f"{work}/bad.out",
    expect_failure=[f"{work}/no_class_token.safetensors", "[3, 16, 16]", "[images, 17, 16]", "with the class token"])
safetensors_io.save(f"{work}/two.safetensors", {"a": intern_features, "b": intern_features})
run("forward", "--model", f"{work}/internvit_trol", "--input-ids", f"{work}/ids.json", "--image-features",
    f"{work}/two.safetensors", "--out", f"{work}/bad.out",
    expect_failure=[f"{work}/two.safetensors", "exactly one tensor", "a, b"])
json.dump(clip_ids, open(f"{work}/ids.json", "w"))
safetensors_io.save(f"{work}/with_class_token.safetensors",
                    {"features": torch.cat([clip_features[:, :1], clip_features], dim=1)})
run("generate", "--model", f"{work}/clip_trol", "--input-ids", f"{work}/ids.json", "--image-features",
    f"{work}/with_class_token.safetensors",
    expect_failure=[f"{work}/with_class_token.safetensors", "[2, 17, 16]", "[images, 16, 16]", "without the class token"])
safetensors_io.save(f"{work}/one_image.safetensors", {"features": clip_features[:1]})
run("forward", "--model", f"{work}/clip_trol", "--input-ids", f"{work}/ids.json", "--image-features",
    f"{work}/one_image.safetensors", "--out", f"{work}/bad.out", expect_failure=["32 image-token positions"])
run("forward", "--model", f"{work}/internlm2", "--input-ids", f"{work}/ids.json", "--image-features",
    f"{work}/features.safetensors", "--out", f"{work}/bad.out", expect_failure=["no vision encoder"])
print("wrong tower outputs are refused naming the file, the expected and the given shape")
print("the vision tower's output from elsewhere runs through trol as its own tower's does")
