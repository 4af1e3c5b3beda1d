"""trol import / trol forward against Hugging Face model folders in the real layouts, built here
in miniature (the real ones cannot be downloaded on these machines): a Phi-3 backbone in two
bfloat16 shards with model.safetensors.index.json, an InternLM2 backbone in one float32 file,
a whole CLIP model (text tower included), an InternViT tower in its own layout, and released
TroL-1.8B and TroL-3.8B folders, which `trol export --format released` must give back bit for
bit. Logits are checked against the independent
Python reference (scripts/reference/reference_model.py) run on the same weights, with the
config mapped here by hand from config.json; bad folders must fail with the right message.

    hf_import_check.py TROL SOURCE_DIR WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

import torch

from trol_check import llm_weights, run_trol, seeded_randn, start_check

trol, source, work = start_check()
import reference_model  # noqa: E402
import safetensors_io  # noqa: E402

randn = seeded_randn(7, scale=0.2)


def run(*args, expect_failure=None):
    return "".join(run_trol(trol, args, expect_failure))


def write_folder(folder, config, weights, shards=1, dtype=torch.float32):
    os.makedirs(folder)
    json.dump(config, open(os.path.join(folder, "config.json"), "w"), indent=1)
    names = sorted(weights)
    if shards == 1:
        safetensors_io.save(os.path.join(folder, "model.safetensors"), {n: weights[n].to(dtype) for n in names})
        return
    weight_map = {}
    for s in range(shards):
        shard = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = names[s::shards]
        safetensors_io.save(os.path.join(folder, shard), {n: weights[n].to(dtype) for n in part})
        weight_map.update({n: shard for n in part})
    json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map},
              open(os.path.join(folder, "model.safetensors.index.json"), "w"))


def reference_logits(weights, family, hf, traversal, ids):
    # config.json -> the reference's config, by hand (independently of trol's reader)
    cfg = {"family": family, "hidden_size": hf["hidden_size"], "num_layers": hf["num_hidden_layers"],
           "num_heads": hf["num_attention_heads"], "num_kv_heads": hf["num_key_value_heads"],
           "rope_theta": hf["rope_theta"], "rms_norm_eps": hf["rms_norm_eps"],
           "tie_word_embeddings": False, "traversal": traversal, "shared_gate": False, "vision": False}
    w = {n: t.float() for n, t in weights.items()}
    for i in range(cfg["num_layers"]):  # fresh TroL gates start at zero: w = 0.5 everywhere
        w[f"model.trol_gating.{i}.weight"] = torch.zeros(1, cfg["hidden_size"])
        w[f"model.trol_gating.{i}.bias"] = torch.zeros(1)
    ids_t = torch.tensor(ids)
    return reference_model.forward(w, cfg, ids_t, torch.ones_like(ids_t))


def check_logits(label, out_file, expected):
    got = safetensors_io.load(out_file)["logits"]
    if got.shape != expected.shape:
        sys.exit(f"{label}: logits {tuple(got.shape)}, reference {tuple(expected.shape)}")
    error = (got - expected).abs().max().item()
    if not error < 2e-4:
        sys.exit(f"{label}: logits differ from the reference by {error}")
    print(f"{label}: logits match the reference (max |diff| {error:.2e})")


ids = [[3, 17, 42, 9, 77, 5, 90, 64], [1, 2, 3, 4, 5, 6, 7, 8]]
json.dump(ids, open(os.path.join(work, "ids.json"), "w"))

# Phi-3 (mini-4k's config keys), two bfloat16 shards
phi3_config = {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "vocab_size": 128, "hidden_size": 32,
               "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 64,
               "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None,
               "max_position_embeddings": 256, "original_max_position_embeddings": 256, "sliding_window": 255,
               "tie_word_embeddings": False, "attention_bias": False, "torch_dtype": "bfloat16"}
phi3 = llm_weights(randn, "phi3", 32, 2, 4, 2, 64, 128)
phi3 = {n: t.to(torch.bfloat16) for n, t in phi3.items()}
write_folder(f"{work}/phi3", phi3_config, phi3, shards=2, dtype=torch.bfloat16)

run("import", "--llm", f"{work}/phi3", "--out", f"{work}/phi3_trol")
run("forward", "--model", f"{work}/phi3_trol", "--input-ids", f"{work}/ids.json", "--out", f"{work}/phi3_trol.out")
check_logits("phi3 imported, TroL", f"{work}/phi3_trol.out", reference_logits(phi3, "phi3", phi3_config, True, ids))
ratios = safetensors_io.load(f"{work}/phi3_trol.out")["gate_ratios"]
if ratios.shape != (2, 2, 8) or not torch.all(ratios == 0.5):
    sys.exit(f"fresh gates should mix at 0.5 everywhere: {ratios}")
run("forward", "--model", f"{work}/phi3", "--input-ids", f"{work}/ids.json", "--out", f"{work}/phi3_plain.out",
    "model.trol.traversal=false")
check_logits("phi3 Hugging Face folder, traversal off", f"{work}/phi3_plain.out",
             reference_logits(phi3, "phi3", phi3_config, False, ids))

# InternLM2 (chat-1_8b's config keys, dynamic rope scaling, no biases), one float32 file,
# plus a whole CLIP model as the vision tower
internlm2_config = {"architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2", "vocab_size": 96,
                    "hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 6, "num_key_value_heads": 2,
                    "intermediate_size": 80, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 1000000,
                    "rope_scaling": {"type": "dynamic", "factor": 2.0}, "max_position_embeddings": 512,
                    "bias": False, "tie_word_embeddings": False}
internlm2 = llm_weights(randn, "internlm2", 48, 2, 6, 2, 80, 96)
write_folder(f"{work}/internlm2", internlm2_config, internlm2)
clip_config = {"model_type": "clip", "projection_dim": 8,
               "text_config": {"hidden_size": 8, "num_hidden_layers": 1},
               "vision_config": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
                                 "num_attention_heads": 2, "image_size": 32, "patch_size": 8}}
clip = {"vision_model.embeddings.class_embedding": randn(16),
        "vision_model.embeddings.patch_embedding.weight": randn(16, 3, 8, 8),
        "vision_model.embeddings.position_embedding.weight": randn(17, 16),
        "vision_model.embeddings.position_ids": torch.arange(17).unsqueeze(0),
        "vision_model.pre_layrnorm.weight": 1 + randn(16), "vision_model.pre_layrnorm.bias": randn(16),
        "vision_model.post_layernorm.weight": randn(16), "vision_model.post_layernorm.bias": randn(16),
        "text_model.embeddings.token_embedding.weight": randn(10, 8), "logit_scale": torch.tensor(2.6),
        "visual_projection.weight": randn(8, 16), "text_projection.weight": randn(8, 8)}
for i in range(2):
    p = f"vision_model.encoder.layers.{i}."
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        clip[p + f"self_attn.{name}.weight"], clip[p + f"self_attn.{name}.bias"] = randn(16, 16), randn(16)
    for name in ("layer_norm1", "layer_norm2"):
        clip[p + f"{name}.weight"], clip[p + f"{name}.bias"] = 1 + randn(16), randn(16)
    clip[p + "mlp.fc1.weight"], clip[p + "mlp.fc1.bias"] = randn(32, 16), randn(32)
    clip[p + "mlp.fc2.weight"], clip[p + "mlp.fc2.bias"] = randn(16, 32), randn(16)
os.makedirs(f"{work}/clip")
json.dump(clip_config, open(f"{work}/clip/config.json", "w"))
safetensors_io.save(f"{work}/clip/model.safetensors", clip)

output = run("import", "--llm", f"{work}/internlm2", "--vision", f"{work}/clip", "--out", f"{work}/internlm2_trol",
             "model.image_token_id=95")
if "rope_scaling 'dynamic'" not in output:
    sys.exit(f"the dynamic rope scaling note is missing:\n{output}")
run("forward", "--model", f"{work}/internlm2_trol", "--input-ids", f"{work}/ids.json", "--out",
    f"{work}/internlm2.out", "model.trol.traversal=false")
check_logits("internlm2 + CLIP imported, traversal off", f"{work}/internlm2.out",
             reference_logits(internlm2, "internlm2", internlm2_config, False, ids))
imported = safetensors_io.load(f"{work}/internlm2_trol/model.safetensors")
for name, tensor in clip.items():
    wanted = name.startswith("vision_model.") and "post_layernorm" not in name and "position_ids" not in name
    if wanted != (name in imported) or (wanted and not torch.equal(imported[name], tensor.float())):
        sys.exit(f"{name}: {'not imported as it is' if wanted else 'should not be imported'}")
config_yaml = open(f"{work}/internlm2_trol/config.yaml").read()
for line in ("select_layer: -2", "image_token_id: 95", "family: internlm2"):
    if line not in config_yaml:
        sys.exit(f"imported config.yaml lacks '{line}':\n{config_yaml}")
print("CLIP's vision tower imported as it is, its text tower and final LayerNorm skipped")


def reference_with_images(model_dir, cfg, ids_with_images, pixels):
    """The reference's logits on the imported checkpoint (fresh projector and gates included)."""
    w = safetensors_io.load(f"{model_dir}/model.safetensors")
    ids_t = torch.tensor(ids_with_images)
    return reference_model.forward(w, cfg, ids_t, torch.ones_like(ids_t), pixels)


# internlm2 + CLIP with images, traversed: pixels given as a tensor, the image tokens filled
# with CLIP's features (last layer here, 16 tokens of an image) through the fresh projector
image_ids = [[1, 2] + [95] * 16 + [7, 8], [3] + [95] * 16 + [4, 5, 6]]
json.dump(image_ids, open(f"{work}/image_ids.json", "w"))
pixels = randn(2, 3, 32, 32, scale=1.0)
safetensors_io.save(f"{work}/pixels.safetensors", {"pixel_values": pixels})
run("forward", "--model", f"{work}/internlm2_trol", "--input-ids", f"{work}/image_ids.json", "--pixel-values",
    f"{work}/pixels.safetensors", "--out", f"{work}/internlm2_images.out", "model.vision.select_layer=-1")
clip_vision = {"architecture": "clip", "image_size": 32, "pretrained_image_size": 0, "patch_size": 8, "hidden_size": 16,
               "num_heads": 2, "num_layers": 2, "layer_norm_eps": 1e-5, "activation": "quick_gelu", "select_layer": -1,
               "drop_class_token": True, "downsample_ratio": 1.0}
cfg = {"family": "internlm2", "hidden_size": 48, "num_layers": 2, "num_heads": 6, "num_kv_heads": 2, "rope_theta": 1e6,
       "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True, "shared_gate": False, "vision": True,
       "image_token_id": 95, "projector": "mlp2x_gelu", "vision_config": clip_vision}
check_logits("internlm2 + CLIP with images, TroL", f"{work}/internlm2_images.out",
             reference_with_images(f"{work}/internlm2_trol", cfg, image_ids, pixels))

# InternViT (TroL-3.8B's tower) as InternViT's own checkpoints store it (embeddings.*, encoder.*;
# layer scale, fused qkv) under a Phi-3 without grouped-query attention (as Phi-3-mini): pixel
# shuffle to 4 tokens of 64, InternVL's LayerNorm projector
internvit_config = {"architectures": ["InternVisionModel"], "model_type": "intern_vit_6b", "hidden_size": 16,
                    "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": 28,
                    "patch_size": 7, "qkv_bias": True, "qk_normalization": False, "norm_type": "layer_norm",
                    "layer_norm_eps": 1e-6, "hidden_act": "gelu", "drop_path_rate": 0.1, "use_flash_attn": True}
internvit = {"embeddings.class_embedding": randn(1, 1, 16), "embeddings.patch_embedding.weight": randn(16, 3, 7, 7),
             "embeddings.patch_embedding.bias": randn(16), "embeddings.position_embedding": randn(1, 17, 16)}
for i in range(2):
    p = f"encoder.layers.{i}."
    internvit[p + "attn.qkv.weight"], internvit[p + "attn.qkv.bias"] = randn(48, 16), randn(48)
    internvit[p + "attn.proj.weight"], internvit[p + "attn.proj.bias"] = randn(16, 16), randn(16)
    for name in ("norm1", "norm2"):
        internvit[p + f"{name}.weight"], internvit[p + f"{name}.bias"] = 1 + randn(16), randn(16)
    internvit[p + "mlp.fc1.weight"], internvit[p + "mlp.fc1.bias"] = randn(32, 16), randn(32)
    internvit[p + "mlp.fc2.weight"], internvit[p + "mlp.fc2.bias"] = randn(16, 32), randn(16)
    internvit[p + "ls1"], internvit[p + "ls2"] = 0.5 + randn(16), 0.5 + randn(16)
write_folder(f"{work}/internvit", internvit_config, internvit)
phi3_mha_config = dict(phi3_config, num_key_value_heads=4)
phi3_mha = llm_weights(randn, "phi3", 32, 2, 4, 4, 64, 128)
write_folder(f"{work}/phi3_mha", phi3_mha_config, phi3_mha)
run("import", "--llm", f"{work}/phi3_mha", "--vision", f"{work}/internvit", "--out", f"{work}/phi3_internvit",
    "model.image_token_id=127")
config_yaml = open(f"{work}/phi3_internvit/config.yaml").read()
for line in ("architecture: internvit", "downsample_ratio: 0.5", "select_layer: -1", "type: ln_mlp2x_gelu"):
    if line not in config_yaml:
        sys.exit(f"the InternViT model's config.yaml lacks '{line}':\n{config_yaml}")
imported = safetensors_io.load(f"{work}/phi3_internvit/model.safetensors")
for name, tensor in internvit.items():
    if not torch.equal(imported["vision_model." + name], tensor):
        sys.exit(f"InternViT's {name} was not imported as it is")
internvit_ids = [[1, 2] + [127] * 4 + [7, 8, 9, 10, 11, 12], [3] + [127] * 4 + [4, 5, 6] + [127] * 4]
json.dump(internvit_ids, open(f"{work}/internvit_ids.json", "w"))
pixels = randn(3, 3, 28, 28, scale=1.0)
safetensors_io.save(f"{work}/internvit_pixels.safetensors", {"pixel_values": pixels})
run("forward", "--model", f"{work}/phi3_internvit", "--input-ids", f"{work}/internvit_ids.json", "--pixel-values",
    f"{work}/internvit_pixels.safetensors", "--out", f"{work}/phi3_internvit.out")
internvit_vision = {"architecture": "internvit", "image_size": 28, "pretrained_image_size": 0, "patch_size": 7,
                    "hidden_size": 16, "num_heads": 2, "num_layers": 2, "layer_norm_eps": 1e-6, "activation": "gelu",
                    "select_layer": -1, "drop_class_token": True, "downsample_ratio": 0.5}
cfg = {"family": "phi3", "hidden_size": 32, "num_layers": 2, "num_heads": 4, "num_kv_heads": 4, "rope_theta": 1e4,
       "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True, "shared_gate": False, "vision": True,
       "image_token_id": 127, "projector": "ln_mlp2x_gelu", "vision_config": internvit_vision}
check_logits("phi3 (no GQA) + InternViT with images, TroL", f"{work}/phi3_internvit.out",
             reference_with_images(f"{work}/phi3_internvit", cfg, internvit_ids, pixels))
six_b = dict(internvit_config, qk_normalization=True, norm_type="rms_norm")
write_folder(f"{work}/internvit6b", six_b, internvit)
run("import", "--llm", f"{work}/phi3_mha", "--vision", f"{work}/internvit6b", "--out", f"{work}/bad",
    expect_failure="norm_type 'rms_norm'")
run("export", "--model", f"{work}/phi3_internvit", "--out", f"{work}/phi3_internvit_hf", "--format", "hf")
run("import", "--llm", f"{work}/phi3_internvit_hf", "--out", f"{work}/phi3_internvit_again")
again = safetensors_io.load(f"{work}/phi3_internvit_again/model.safetensors")
if imported.keys() != again.keys() or any(not torch.equal(imported[k], again[k]) for k in imported):
    sys.exit("import -> export --format hf -> import changed the InternViT checkpoint")
print("InternViT imports from its own layout, runs as the reference computes it, and round-trips")


def same_checkpoint(first_dir, second_dir):
    first = safetensors_io.load(f"{first_dir}/model.safetensors")
    second = safetensors_io.load(f"{second_dir}/model.safetensors")
    return first.keys() == second.keys() and all(
        first[k].dtype == second[k].dtype and torch.equal(first[k], second[k]) for k in first)


# A released TroL-1.8B folder in miniature (the authors' arch_internlm2 layout): Partial-LoRA
# linears (<linear>.ffn.weight + lora_A/lora_B), the CLIP tower under vit.vision_tower, the
# projector, the embedding with vocab_size + 1 rows (nn.Embedding(config.vocab_size + 1)), the last
# for '<image>', the tokenizer's added token after the vocabulary, the head with vocab_size rows,
# and the shared gate in trol_gating.pt as the authors save it: torch.save(trol_gating.state_dict())
released = {}
for name, tensor in internlm2.items():
    if any(part in name for part in (".wqkv.", ".wo.", ".w1.", ".w2.", ".w3.")):
        stem = name[: -len(".weight")]
        released[stem + ".ffn.weight"] = tensor
        released[stem + ".lora_A.weight"] = randn(4, tensor.shape[1])
        released[stem + ".lora_B.weight"] = randn(tensor.shape[0], 4)
    else:
        released[name] = tensor
for name, tensor in clip.items():
    if name.startswith("vision_model."):
        released["vit.vision_tower." + name] = tensor
released["vision_proj.0.weight"], released["vision_proj.0.bias"] = randn(48, 16), randn(48)
released["vision_proj.2.weight"], released["vision_proj.2.bias"] = randn(48, 48), randn(48)
released["model.tok_embeddings.weight"] = torch.cat([internlm2["model.tok_embeddings.weight"], randn(1, 48, scale=1.0)])
write_folder(f"{work}/trol18b", dict(internlm2_config, architectures=["TroLForCausalLM"]), released)
json.dump({"added_tokens_decoder": {"96": {"content": "<image>", "special": True}}},
          open(f"{work}/trol18b/tokenizer_config.json", "w"))
gate = torch.nn.Linear(48, 1)
with torch.no_grad():
    gate.weight.copy_(randn(1, 48)), gate.bias.fill_(0.3)
torch.save(torch.nn.ModuleList([gate] * 2).state_dict(), f"{work}/trol18b/trol_gating.pt")
output = run("import", "--llm", f"{work}/trol18b", "--out", f"{work}/trol18b_trol", "model.vision.num_heads=2")
if "TroL gates from " + f"{work}/trol18b/trol_gating.pt" not in output or "extra_embedding_rows" not in output:
    sys.exit(f"the import does not say that it read trol_gating.pt and the image token's extra embedding row:\n{output}")
run("forward", "--model", f"{work}/trol18b_trol", "--input-ids", f"{work}/ids.json", "--out", f"{work}/trol18b.out")
# text tokens only: Partial LoRA leaves them alone, so the base weights and the shared gate decide;
# the logits have the head's 96 columns, not the embedding's 97 rows
w = {n: t for n, t in internlm2.items()}
w["model.tok_embeddings.weight"] = released["model.tok_embeddings.weight"]
w["model.trol_gating.0.weight"], w["model.trol_gating.0.bias"] = gate.weight.detach(), gate.bias.detach()
cfg = {"family": "internlm2", "hidden_size": 48, "num_layers": 2, "num_heads": 6, "num_kv_heads": 2,
       "rope_theta": 1e6, "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True,
       "shared_gate": True, "vision": False}
ids_t = torch.tensor(ids)
check_logits("released TroL layout, text tokens", f"{work}/trol18b.out",
             reference_model.forward(w, cfg, ids_t, torch.ones_like(ids_t)))
imported = safetensors_io.load(f"{work}/trol18b_trol/model.safetensors")
for stem in ("model.layers.1.attention.wo", "model.layers.0.feed_forward.w3"):
    for part in ("lora_A", "lora_B"):
        if not torch.equal(imported[f"{stem}.{part}"], released[f"{stem}.{part}.weight"]):
            sys.exit(f"{stem}.{part} was not imported as it is")
config_yaml = open(f"{work}/trol18b_trol/config.yaml").read()
for line in ("partial: true", "image_token_id: 96", "vocab_size: 96", "extra_embedding_rows: 1", "shared_gate: true",
             "select_layer: -1", "image_size: 32", "rank: 4"):
    if line not in config_yaml:
        sys.exit(f"the released model's config.yaml lacks '{line}':\n{config_yaml}")
# The gates' file as torch.save writes it elsewhere: by another torch (the pip one, when this
# machine has it), in the legacy format; and what is not a state dict is refused by name
gating_writers = [sys.executable] + [python for python in (
    os.environ.get("TROL_OTHER_TORCH_PYTHON"), os.path.expanduser("~/.cache/trol/venv-torch-2.11.0/bin/python"))
    if python and os.path.exists(python) and os.path.abspath(python) != os.path.abspath(sys.executable)][:1]
safetensors_io.save(f"{work}/gate.safetensors", {"weight": gate.weight.detach(), "bias": gate.bias.detach()})
for writer in gating_writers:
    for legacy in (False, True):
        subprocess.run([writer, "-c", f"""
import sys, torch
sys.path.insert(0, {os.path.join(source, "scripts", "reference")!r})
import safetensors_io
gate = torch.nn.Linear(48, 1)
gate.load_state_dict(safetensors_io.load({work + "/gate.safetensors"!r}))
torch.save(torch.nn.ModuleList([gate] * 2).state_dict(), {work + "/gating_other.pt"!r},
           _use_new_zipfile_serialization={not legacy})
print(torch.__version__)"""], check=True, capture_output=True)
        run("import", "--llm", f"{work}/trol18b", "--gating", f"{work}/gating_other.pt", "--out", f"{work}/trol18b_other",
            "model.vision.num_heads=2")
        if not same_checkpoint(f"{work}/trol18b_trol", f"{work}/trol18b_other"):
            sys.exit(f"the gates saved by {writer} ({'legacy' if legacy else 'zip'} format) import to another checkpoint")
print("trol_gating.pt imports as torch.save wrote it:", ", ".join(
    subprocess.run([writer, "-c", "import torch; print('torch', torch.__version__)"], capture_output=True,
                   text=True).stdout.strip() for writer in gating_writers), "(zip and legacy formats)")
torch.save(gate, f"{work}/gating_module.pt")
run("import", "--llm", f"{work}/trol18b", "--gating", f"{work}/gating_module.pt", "--out", f"{work}/bad",
    expect_failure=f"{work}/gating_module.pt: the pickle refers to torch.nn.modules.linear.Linear; trol reads torch.save "
                   "files of a state dict (a dict of tensors): save module.state_dict(), not the module")
whole = open(f"{work}/trol18b/trol_gating.pt", "rb").read()
open(f"{work}/gating_truncated.pt", "wb").write(whole[: len(whole) - 40])
run("import", "--llm", f"{work}/trol18b", "--gating", f"{work}/gating_truncated.pt", "--out", f"{work}/bad",
    expect_failure=f"{work}/gating_truncated.pt: not a zip archive that torch.save could have written")
print("a released TroL folder imports: base weights, Partial-LoRA adapters, CLIP tower, shared gate, image token")

# A released TroL-3.8B folder in miniature (the authors' arch_phi3 layout, after InternVL): a
# config.json of model_type "trol" with llm_config and vision_config, the backbone under
# language_model., InternViT under vision_model., the projector, '<IMG_CONTEXT>', per-layer gates
released = {"language_model." + n: t for n, t in phi3_mha.items()}
released.update({"vision_model." + n: t for n, t in internvit.items()})
released["vision_proj.0.weight"], released["vision_proj.0.bias"] = 1 + randn(64), randn(64)
released["vision_proj.1.weight"], released["vision_proj.1.bias"] = randn(32, 64), randn(32)
released["vision_proj.3.weight"], released["vision_proj.3.bias"] = randn(32, 32), randn(32)
trol_config = {"architectures": ["TroLForCausalLM"], "model_type": "trol", "llm_config": phi3_mha_config,
               "vision_config": internvit_config, "select_layer": -1, "downsample_ratio": 0.5, "force_image_size": 28,
               "ps_version": "v1", "dynamic_image_size": False, "use_thumbnail": False}
write_folder(f"{work}/trol38b", trol_config, released)
json.dump({"added_tokens_decoder": {"127": {"content": "<IMG_CONTEXT>", "special": True}}},
          open(f"{work}/trol38b/tokenizer_config.json", "w"))
gates = torch.nn.ModuleList([torch.nn.Linear(32, 1) for _ in range(2)])
with torch.no_grad():
    for gate in gates:
        gate.weight.copy_(randn(1, 32)), gate.bias.copy_(randn(1))
torch.save(dict(gates.state_dict()), f"{work}/trol38b/trol_gating.pt")
run("import", "--llm", f"{work}/trol38b", "--out", f"{work}/trol38b_trol")
run("forward", "--model", f"{work}/trol38b_trol", "--input-ids", f"{work}/internvit_ids.json", "--pixel-values",
    f"{work}/internvit_pixels.safetensors", "--out", f"{work}/trol38b.out")
# the reference reads the released tensors under their meaning, renamed here by hand
w = {n[len("language_model."):] if n.startswith("language_model.") else n: t for n, t in released.items()}
for i, gate in enumerate(gates):
    w[f"model.trol_gating.{i}.weight"], w[f"model.trol_gating.{i}.bias"] = gate.weight.detach(), gate.bias.detach()
cfg = {"family": "phi3", "hidden_size": 32, "num_layers": 2, "num_heads": 4, "num_kv_heads": 4, "rope_theta": 1e4,
       "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True, "shared_gate": False, "vision": True,
       "image_token_id": 127, "projector": "ln_mlp2x_gelu", "vision_config": internvit_vision}
ids_t = torch.tensor(internvit_ids)
check_logits("released TroL-3.8B layout with images", f"{work}/trol38b.out",
             reference_model.forward(w, cfg, ids_t, torch.ones_like(ids_t), safetensors_io.load(
                 f"{work}/internvit_pixels.safetensors")["pixel_values"]))
config_yaml = open(f"{work}/trol38b_trol/config.yaml").read()
for line in ("image_token_id: 127", "shared_gate: false", "architecture: internvit", "type: ln_mlp2x_gelu"):
    if line not in config_yaml:
        sys.exit(f"the released TroL-3.8B model's config.yaml lacks '{line}':\n{config_yaml}")
print("a released TroL-3.8B folder imports: Phi-3 under language_model, InternViT, projector, gates, <IMG_CONTEXT>")

# trol export --format released, the inverse of importing a released folder: exported again, the
# folder's tensors come back bit for bit, its gates in trol_gating.safetensors; imported again, the
# same checkpoint and config
def config_lines(checkpoint_dir):
    # an imported config.yaml but the comment naming the folder it came from
    return [line for line in open(f"{checkpoint_dir}/config.yaml") if not line.startswith("#")]


def check_released_export(label, original_dir, original_gates, checkpoint_dir, skipped_on_import, overrides=()):
    exported_dir = f"{checkpoint_dir}_released"
    output = run("export", "--model", checkpoint_dir, "--out", exported_dir, "--format", "released")
    if "copy the tokenizer files (tokenizer.model, tokenizer_config.json, added_tokens.json)" not in output:
        sys.exit(f"{label}: the export does not say which tokenizer files to copy:\n{output}")
    original = {n: t for n, t in safetensors_io.load(f"{original_dir}/model.safetensors").items()
                if not skipped_on_import(n)}
    exported = safetensors_io.load(f"{exported_dir}/model.safetensors")
    if original.keys() != exported.keys():
        sys.exit(f"{label}: exported without {sorted(original.keys() - exported.keys())}, "
                 f"with extra {sorted(exported.keys() - original.keys())}")
    for name, tensor in original.items():
        if exported[name].dtype != tensor.dtype or not torch.equal(exported[name], tensor):
            sys.exit(f"{label}: {name} is not the original tensor")
    gating = safetensors_io.load(f"{exported_dir}/trol_gating.safetensors")
    if gating.keys() != original_gates.keys() or any(
            gating[k].dtype != original_gates[k].dtype or not torch.equal(gating[k], original_gates[k]) for k in gating):
        sys.exit(f"{label}: trol_gating.safetensors {sorted(gating)} does not hold the original gates {sorted(original_gates)}")
    shutil.copy(f"{original_dir}/tokenizer_config.json", exported_dir)
    run("import", "--llm", exported_dir, "--out", f"{exported_dir}_trol", *overrides)
    if not same_checkpoint(checkpoint_dir, f"{exported_dir}_trol"):
        sys.exit(f"{label}: import -> export --format released -> import changed the checkpoint")
    if config_lines(checkpoint_dir) != config_lines(f"{exported_dir}_trol"):
        sys.exit(f"{label}: import -> export --format released -> import changed config.yaml:\n"
                 f"{''.join(config_lines(checkpoint_dir))}\nnow\n{''.join(config_lines(exported_dir + '_trol'))}")
    print(f"{label}: import -> export --format released gives back the folder's tensors and gates bit for bit, "
          "and import again the same checkpoint")
    return exported_dir, output


# TroL-1.8B: CLIP's final LayerNorm and position ids are skipped on import (the model never reads
# them), so they are the only tensors not written back; the head count is not in the layout either
trol18b_released, output = check_released_export(
    "released TroL-1.8B", f"{work}/trol18b", dict(torch.load(f"{work}/trol18b/trol_gating.pt")), f"{work}/trol18b_trol",
    lambda name: ".post_layernorm." in name or name.endswith(".position_ids"), ["model.vision.num_heads=2"])
if "import it with model.vision.num_heads=2" not in output:
    sys.exit(f"the export does not say that the head count must be given on import:\n{output}")
# The conversion for the authors' code (safetensors' load_file, here the reference's reader) gives a
# plain dict that their ModuleList([Linear] * n) loads strictly, and trol import reads too
torch.save(safetensors_io.load(f"{trol18b_released}/trol_gating.safetensors"), f"{trol18b_released}/trol_gating.pt")
torch.nn.ModuleList([torch.nn.Linear(48, 1)] * 2).load_state_dict(torch.load(f"{trol18b_released}/trol_gating.pt"))
run("import", "--llm", trol18b_released, "--gating", f"{trol18b_released}/trol_gating.pt", "--out",
    f"{work}/trol18b_from_pt", "model.vision.num_heads=2")
if not same_checkpoint(f"{work}/trol18b_trol", f"{work}/trol18b_from_pt"):
    sys.exit("the gates converted to trol_gating.pt import to another checkpoint")
trol38b_released, output = check_released_export(
    "released TroL-3.8B", f"{work}/trol38b", torch.load(f"{work}/trol38b/trol_gating.pt"), f"{work}/trol38b_trol",
    lambda name: False)
if "the authors' code builds one Linear shared by all layers" not in output:
    sys.exit(f"the export does not warn that the authors' code shares one gate:\n{output}")
config = json.load(open(f"{trol38b_released}/config.json"))
if config["model_type"] != "trol" or config["llm_config"]["model_type"] != "phi3" or \
        config["vision_config"]["model_type"] != "intern_vit_6b" or config["force_image_size"] != 28:
    sys.exit(f"the exported TroL-3.8B config.json is not the authors' TroLConfig:\n{json.dumps(config, indent=1)}")

# Each tensor keeps its stored dtype (here a checkpoint stored in bfloat16 but its float32 gates);
# --dtype converts them all
os.makedirs(f"{work}/trol38b_bf16")
shutil.copy(f"{work}/trol38b_trol/config.yaml", f"{work}/trol38b_bf16")
stored = {n: t if ".trol_gating." in n else t.to(torch.bfloat16)
          for n, t in safetensors_io.load(f"{work}/trol38b_trol/model.safetensors").items()}
safetensors_io.save(f"{work}/trol38b_bf16/model.safetensors", stored)
run("export", "--model", f"{work}/trol38b_bf16", "--out", f"{work}/trol38b_bf16_released", "--format", "released")
exported = safetensors_io.load(f"{work}/trol38b_bf16_released/model.safetensors")
gating = safetensors_io.load(f"{work}/trol38b_bf16_released/trol_gating.safetensors")
if any(t.dtype != torch.bfloat16 for t in exported.values()) or any(t.dtype != torch.float32 for t in gating.values()):
    sys.exit("export --format released did not keep the stored dtypes")
if json.load(open(f"{work}/trol38b_bf16_released/config.json"))["llm_config"]["torch_dtype"] != "bfloat16":
    sys.exit("the exported config.json does not give the weights' dtype")
run("export", "--model", f"{work}/trol18b_trol", "--out", f"{work}/trol18b_fp16", "--format", "released", "--dtype", "float16")
original = safetensors_io.load(f"{trol18b_released}/model.safetensors")
exported = safetensors_io.load(f"{work}/trol18b_fp16/model.safetensors")
if original.keys() != exported.keys() or any(not torch.equal(exported[n], t.half()) for n, t in original.items()):
    sys.exit("export --format released --dtype float16 did not convert every tensor")
if json.load(open(f"{work}/trol18b_fp16/config.json"))["torch_dtype"] != "float16":
    sys.exit("the exported config.json does not give --dtype")

# What the released layouts cannot hold is refused, naming the setting
run("export", "--model", f"{work}/trol18b_trol", "--out", f"{work}/bad", "--format", "released", "--merge-lora",
    expect_failure="--merge-lora does not go with --format released")
run("export", "--model", f"{work}/phi3_trol", "--out", f"{work}/bad", "--format", "released",
    expect_failure="model.vision.enabled is false (a text-only model): the released TroL models are vision-language "
                   "models; use --format hf")
run("export", "--model", f"{work}/internlm2_trol", "--out", f"{work}/bad", "--format", "released",
    expect_failure="model.vision.select_layer is -2: the released TroL-1.8B/7B (internlm2) layout does not record it, "
                   "and trol import (like the authors' code) takes -1; use --format hf")


def edited_checkpoint(source_dir, name, old, new):
    shutil.copytree(source_dir, f"{work}/{name}")
    config_yaml = open(f"{source_dir}/config.yaml").read()
    if old not in config_yaml:
        sys.exit(f"{source_dir}/config.yaml lacks '{old}':\n{config_yaml}")
    open(f"{work}/{name}/config.yaml", "w").write(config_yaml.replace(old, new))
    return f"{work}/{name}"


run("export", "--model", edited_checkpoint(f"{work}/trol18b_trol", "plain_lora", "partial: true", "partial: false"),
    "--out", f"{work}/bad", "--format", "released",
    expect_failure="model.lora.partial is false (plain LoRA): the released TroL-1.8B/7B (internlm2) layout holds "
                   "Partial LoRA adapters; --format hf --merge-lora folds plain LoRA into the weights")
run("export", "--model", edited_checkpoint(f"{work}/trol38b_trol", "no_traversal", "shared_gate: false",
                                            "shared_gate: false\n    traversal: false"),
    "--out", f"{work}/bad", "--format", "released",
    expect_failure="model.trol.traversal is false: the released TroL code always traverses the layers; use --format hf")
print("trol export --format released refuses what the released layouts cannot hold")


# trol export --format hf and back: the backbone's tensors as they were (bfloat16 bit for bit),
# and a multimodal checkpoint (vision tower, projector, gates) through export and import again
run("export", "--model", f"{work}/phi3_trol", "--out", f"{work}/phi3_back", "--format", "hf", "--dtype", "bfloat16")
exported = safetensors_io.load(f"{work}/phi3_back/model.safetensors")
for name, tensor in phi3.items():
    if name not in exported or exported[name].dtype != torch.bfloat16 or not torch.equal(exported[name], tensor):
        sys.exit(f"phi3 exported: {name} is not the original tensor")
if sorted(set(exported) - set(phi3)) != ["model.trol_gating.0.bias", "model.trol_gating.0.weight",
                                         "model.trol_gating.1.bias", "model.trol_gating.1.weight"]:
    sys.exit(f"phi3 exported: unexpected extra tensors {sorted(set(exported) - set(phi3))}")
back_config = json.load(open(f"{work}/phi3_back/config.json"))
for key in ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "intermediate_size", "rms_norm_eps", "rope_theta", "max_position_embeddings", "tie_word_embeddings"):
    if back_config[key] != phi3_config[key]:
        sys.exit(f"phi3 exported config.json: {key} is {back_config[key]}, was {phi3_config[key]}")
run("export", "--model", f"{work}/internlm2_trol", "--out", f"{work}/internlm2_back", "--format", "hf")
run("import", "--llm", f"{work}/internlm2_back", "--out", f"{work}/internlm2_again")
first = safetensors_io.load(f"{work}/internlm2_trol/model.safetensors")
again = safetensors_io.load(f"{work}/internlm2_again/model.safetensors")
if first.keys() != again.keys() or any(not torch.equal(first[k], again[k]) for k in first):
    sys.exit("import -> export --format hf -> import changed the multimodal checkpoint")
if "image_token_id: 95" not in open(f"{work}/internlm2_again/config.yaml").read():
    sys.exit("the image token did not survive the round trip")
run("export", "--model", f"{work}/trol18b_trol", "--out", f"{work}/bad", "--format", "hf", "--merge-lora",
    expect_failure="Partial LoRA adapters")
print("trol export --format hf round-trips: the original tensors, and import again gives the same checkpoint")

# Bad folders name what is wrong
os.remove(f"{work}/phi3/model-00002-of-00002.safetensors")
run("import", "--llm", f"{work}/phi3", "--out", f"{work}/bad", expect_failure="names shard model-00002-of-00002.safetensors, which is missing")
renamed = dict(internlm2)
renamed["model.layers.0.attention.wqkv.weights"] = renamed.pop("model.layers.0.attention.wqkv.weight")
write_folder(f"{work}/renamed", internlm2_config, renamed)
run("import", "--llm", f"{work}/renamed", "--out", f"{work}/bad",
    expect_failure="unexpected: model.layers.0.attention.wqkv.weights (closest expected: model.layers.0.attention.wqkv.weight)")
# Phi-3's longrope (the 128k variants; "su" in the first configs): short factors while the
# longest position stays within original_max_position_embeddings (8 here), long ones beyond
scaled = dict(phi3_config, max_position_embeddings=64, original_max_position_embeddings=8,
              rope_scaling={"type": "su", "short_factor": [1.0, 1.5, 2.0, 3.0], "long_factor": [2.0, 4.0, 8.0, 16.0]})
write_folder(f"{work}/longrope", scaled, {n: t.float() for n, t in phi3.items()})
run("import", "--llm", f"{work}/longrope", "--out", f"{work}/longrope_trol")
rope = {"short_factor": scaled["rope_scaling"]["short_factor"], "long_factor": scaled["rope_scaling"]["long_factor"],
        "original_max_position_embeddings": 8}
for label, rows in (("within the original length", ids), ("beyond it", [list(range(1, 13)), list(range(20, 32))])):
    json.dump(rows, open(f"{work}/longrope_ids.json", "w"))
    run("forward", "--model", f"{work}/longrope_trol", "--input-ids", f"{work}/longrope_ids.json", "--out",
        f"{work}/longrope.out")
    w = safetensors_io.load(f"{work}/longrope_trol/model.safetensors")
    cfg = {"family": "phi3", "hidden_size": 32, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2, "rope_theta": 1e4,
           "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True, "shared_gate": False,
           "vision": False, "rope_scaling": rope, "max_position_embeddings": 64}
    rows_t = torch.tensor(rows)
    check_logits(f"phi3 longrope, {label}", f"{work}/longrope.out",
                 reference_model.forward(w, cfg, rows_t, torch.ones_like(rows_t)))
run("export", "--model", f"{work}/longrope_trol", "--out", f"{work}/longrope_hf", "--format", "hf")
if json.load(open(f"{work}/longrope_hf/config.json"))["rope_scaling"]["long_factor"] != rope["long_factor"]:
    sys.exit("trol export --format hf lost the longrope factors")
yarn = dict(scaled, rope_scaling={"type": "yarn", "short_factor": [1.0] * 4, "long_factor": [2.0] * 4})
write_folder(f"{work}/yarn", yarn, phi3)
run("import", "--llm", f"{work}/yarn", "--out", f"{work}/bad", expect_failure="rope_scaling type 'yarn'")
# An InternLM2 folder in the TroL InternLM2 code's shapes without the rest of the released layout
# (the embedding a row longer than the head): logits over the head's rows, and through
# export --format hf and import again the same checkpoint
extra_row = dict(internlm2, **{"model.tok_embeddings.weight": torch.cat(
    [internlm2["model.tok_embeddings.weight"], randn(1, 48, scale=1.0)])})
write_folder(f"{work}/extra_row", internlm2_config, extra_row)
run("import", "--llm", f"{work}/extra_row", "--out", f"{work}/extra_row_trol")
run("forward", "--model", f"{work}/extra_row_trol", "--input-ids", f"{work}/ids.json", "--out", f"{work}/extra_row.out")
check_logits("internlm2 with the image token's extra embedding row", f"{work}/extra_row.out",
             reference_logits(extra_row, "internlm2", internlm2_config, True, ids))
run("export", "--model", f"{work}/extra_row_trol", "--out", f"{work}/extra_row_hf", "--format", "hf")
run("import", "--llm", f"{work}/extra_row_hf", "--out", f"{work}/extra_row_again")
if not same_checkpoint(f"{work}/extra_row_trol", f"{work}/extra_row_again"):
    sys.exit("import -> export --format hf -> import changed the checkpoint with an extra embedding row")
# with CLIP, the image token the extra row's id (96, past the logits), filled with the image features
run("import", "--llm", f"{work}/extra_row", "--vision", f"{work}/clip", "--out", f"{work}/extra_row_clip",
    "model.image_token_id=96", "model.vision.select_layer=-1")
row_ids = [[t if t != 95 else 96 for t in row] for row in image_ids]
json.dump(row_ids, open(f"{work}/extra_row_ids.json", "w"))
run("forward", "--model", f"{work}/extra_row_clip", "--input-ids", f"{work}/extra_row_ids.json", "--pixel-values",
    f"{work}/pixels.safetensors", "--out", f"{work}/extra_row_clip.out")
cfg = {"family": "internlm2", "hidden_size": 48, "num_layers": 2, "num_heads": 6, "num_kv_heads": 2, "rope_theta": 1e6,
       "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "traversal": True, "shared_gate": False, "vision": True,
       "image_token_id": 96, "projector": "mlp2x_gelu", "vision_config": clip_vision}
check_logits("internlm2 + CLIP, the image token in the extra embedding row", f"{work}/extra_row_clip.out",
             reference_with_images(f"{work}/extra_row_clip", cfg, row_ids,
                                   safetensors_io.load(f"{work}/pixels.safetensors")["pixel_values"]))
wider = dict(internlm2_config, intermediate_size=96)
write_folder(f"{work}/wider", wider, internlm2)
run("import", "--llm", f"{work}/wider", "--out", f"{work}/bad", expect_failure="shape of model.layers.0.feed_forward.w1.weight")
print("Hugging Face folders import and run as the reference computes them")
