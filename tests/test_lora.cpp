// LoRA adapters: a fresh adapter changes nothing, a merged adapter computes what the unmerged
// one does, only adapters get gradients when the base is frozen, and bad targets are errors.
#include "tests/catch.h"

#include <filesystem>

#include "data/synthetic_batch.h"
#include "test_helpers.h"
#include "tokenizer_fixture.h"
#include "train/checkpoint.h"
#include "train/run_config.h"
#include "trol/config_reader.h"
#include "trol/generate.h"
#include "trol/lora_linear.h"
#include "trol/param_groups.h"
#include "trol/safetensors.h"

namespace test_lora {

using namespace trol;

namespace {

ModelConfig with_lora(const std::string& family) {
  auto config = test::tiny_config(family);
  config.lora.rank = 4;
  config.lora.alpha = 8;
  config.lora.dropout = 0.1;
  config.lora.targets = family == "phi3"
                            ? std::vector<std::string>{"model.layers.*.self_attn.qkv_proj", "model.layers.*.mlp.down_proj"}
                            : std::vector<std::string>{"model.layers.*.attention.wqkv", "model.layers.*.feed_forward.w2"};
  return config;
}

ModelInputs batch_for(const ModelConfig& config) {
  SyntheticBatchShape shape;
  shape.seq_len = config.vision.tokens_per_image() + 10;
  auto batch = synthetic_batch(config, shape, 61);
  batch.pixel_values = batch.pixel_values.to(torch::kFloat64);
  return batch;
}

std::vector<std::string> adapter_names(TrolModel& model) {
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) {
    if (ParameterGroups().group_of(p.key()) == "lora") names.push_back(p.key());
  }
  return names;
}

}  // namespace

TEST_CASE("LoRA: fresh adapters change nothing, merged adapters compute what unmerged ones do", "[lora]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO(family);
  TrolModel base(test::tiny_config(family));
  test::randomize_parameters(*base, 62, 0.2);
  base->to(torch::kFloat64);
  const auto config = with_lora(family);
  TrolModel adapted(config);
  adapted->to(torch::kFloat64);
  test::copy_parameters(*base, *adapted);  // every base weight; the adapters keep their init
  const auto names = adapter_names(adapted);
  CHECK(names.size() == 2 * 2 * 2);  // 2 layers x 2 targets x (A, B)
  base->eval();
  adapted->eval();
  const auto batch = batch_for(test::tiny_config(family));
  torch::NoGradGuard no_grad;
  const auto base_logits = base->forward(batch).logits;
  CHECK(torch::equal(adapted->forward(batch).logits, base_logits));  // B = 0

  for (const auto& name : names) {
    if (name.find("lora_B") != std::string::npos) adapted->named_parameters()[name].normal_(0.0, 0.3);
  }
  const auto adapted_logits = adapted->forward(batch).logits;
  CHECK_FALSE(torch::allclose(adapted_logits, base_logits, 1e-6, 1e-6));
  // Merging by hand, independently of LoraLinearImpl::merged_weight: W + alpha/r B A.
  TrolModel merged(test::tiny_config(family));
  merged->to(torch::kFloat64);
  test::copy_parameters(*base, *merged);
  auto weights = merged->named_parameters();
  auto adapter = adapted->named_parameters();
  for (const auto& name : names) {
    if (name.find("lora_A") == std::string::npos) continue;
    const auto module = name.substr(0, name.size() - std::string(".lora_A").size());
    weights[module + ".weight"].add_(adapter[module + ".lora_B"].mm(adapter[module + ".lora_A"]) * (8.0 / 4.0));
  }
  merged->eval();
  CHECK(torch::allclose(merged->forward(batch).logits, adapted_logits, 1e-10, 1e-12));
  for (const auto& item : adapted->named_modules()) {
    if (const auto* linear = dynamic_cast<const LoraLinearImpl*>(item.value().get()); linear && linear->has_adapter()) {
      CHECK(torch::allclose(linear->merged_weight(), weights[item.key() + ".weight"], 1e-12, 1e-14));
    }
  }
}

TEST_CASE("LoRA: with the base frozen only the adapters get gradients, dropout only in training", "[lora]") {
  const auto config = with_lora("phi3");
  TrolModel model(config);
  test::randomize_parameters(*model, 63, 0.2);
  model->to(torch::kFloat64);
  ParameterGroups().set_trainable(*model, {{"llm", false}, {"lora", true}, {"projector", false}, {"mixer", false}});
  const auto batch = batch_for(config);
  model->train();
  torch::manual_seed(1);
  const auto first = model->forward(batch).loss.mean;
  torch::manual_seed(2);
  const auto second = model->forward(batch).loss.mean;
  CHECK(first.item<double>() != second.item<double>());  // different dropout masks
  first.backward();
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    const bool adapter = ParameterGroups().group_of(p.key()) == "lora";
    CHECK(p.value().grad().defined() == adapter);
  }
  model->eval();
  torch::NoGradGuard no_grad;
  CHECK(torch::equal(model->forward(batch).logits, model->forward(batch).logits));
}

TEST_CASE("LoRA: targets that name no decoder projection are errors, plain weights load into an adapted model",
          "[lora]") {
  auto config = with_lora("phi3");
  config.lora.targets = {"model.layers.*.self_attn.qkv_prj"};
  CHECK_THROWS_WITH(TrolModel(config), ContainsSubstring("model.lora.targets: 'model.layers.*.self_attn.qkv_prj' names no "
                                                       "decoder projection"));
  config.lora.targets = {"vision_model.encoder.layers.*.self_attn.q_proj"};
  CHECK_THROWS_AS(TrolModel(config), ConfigError);
  config.lora.targets = {};
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.lora.targets"));
  config = with_lora("phi3");
  config.lora.dropout = 1.0;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.lora.dropout"));

  test::TempDir dir("lora_init");
  TrolModel plain(test::tiny_config("phi3"));
  NamedTensors tensors;
  for (const auto& p : plain->named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : plain->named_buffers()) tensors.emplace_back(b.key(), b.value());
  save_safetensors(dir.file("plain.safetensors"), tensors);
  TrolModel adapted(with_lora("phi3"));
  load_model_weights(dir.file("plain.safetensors"), *adapted);  // adapters may be absent
  auto loaded = adapted->named_parameters();
  for (const auto& p : plain->named_parameters()) CHECK(torch::equal(p.value(), loaded[p.key()]));
  tensors.pop_back();  // a base weight missing stays an error
  save_safetensors(dir.file("short.safetensors"), tensors);
  CHECK_THROWS_WITH(load_model_weights(dir.file("short.safetensors"), *adapted), ContainsSubstring("missing:"));
}

TEST_CASE("Partial LoRA: a layer adds its update only where the mask is set, and cannot be merged", "[lora]") {
  LoraLinear layer(torch::nn::LinearOptions(6, 5));
  layer->add_adapter(/*rank=*/2, /*alpha=*/4, /*dropout=*/0, /*partial=*/true);
  CHECK(layer->has_partial_adapter());
  test::randomize_parameters(*layer, 64);
  layer->to(torch::kFloat64);
  torch::manual_seed(65);
  const auto x = torch::randn({2, 3, 6}, torch::kFloat64);
  const auto mask = torch::tensor({1, 0, 1, 0, 0, 1}, torch::kBool).view({2, 3});
  // By hand: x W^T + b everywhere, plus (alpha / r) x A^T B^T at the masked positions.
  const auto base = x.matmul(layer->weight.t()) + layer->bias;
  const auto update = x.matmul(layer->lora_A.t()).matmul(layer->lora_B.t()) * 2.0;
  const auto expected = base + update * mask.unsqueeze(-1).to(torch::kFloat64);
  CHECK(torch::allclose(layer(x, mask), expected, 1e-12, 1e-14));
  CHECK(torch::equal(layer(x, torch::zeros_like(mask)), torch::nn::functional::linear(x, layer->weight, layer->bias)));
  CHECK_THROWS_WITH(layer(x), ContainsSubstring("needs the image-token mask"));
  CHECK_THROWS_WITH(layer(x, mask.narrow(1, 0, 2)), ContainsSubstring("does not match the input"));
  CHECK_THROWS_WITH(layer->merged_weight(), ContainsSubstring("cannot be folded"));
}

TEST_CASE("Partial LoRA: image tokens get the full adapter, text tokens the base model", "[lora]") {
  const std::string family = GENERATE(std::string("phi3"), std::string("internlm2"));
  INFO(family);
  auto full_config = with_lora(family);
  full_config.lora.dropout = 0;
  auto partial_config = full_config;
  partial_config.lora.partial = true;
  TrolModel base(test::tiny_config(family)), full(full_config), partial(partial_config);
  test::randomize_parameters(*full, 66, 0.2);  // B != 0: the adapters do something
  for (auto* model : {&base, &full, &partial}) (*model)->to(torch::kFloat64);
  test::copy_parameters(*full, *partial);
  {
    torch::NoGradGuard no_grad;
    auto adapted = full->named_parameters();
    for (auto& p : base->named_parameters()) p.value().copy_(adapted[p.key()]);  // the base weights
  }
  for (auto* model : {&base, &full, &partial}) (*model)->eval();

  const auto batch = batch_for(partial_config);
  const auto image = batch.input_ids.eq(partial_config.resolved_image_token_id());
  REQUIRE(image.any().item<bool>());
  REQUIRE_FALSE(image.all().item<bool>());
  CHECK(torch::equal(partial->adapter_mask(batch.input_ids), image));
  CHECK_FALSE(full->adapter_mask(batch.input_ids).defined());
  torch::NoGradGuard no_grad;
  // The decoder with every position marked is the fully adapted one; with none, the base.
  const auto embeds = base->embed(batch);
  const auto& attention = batch.attention_mask;
  const auto partial_all = partial->model(embeds, attention, false, torch::ones_like(image)).hidden;
  CHECK(torch::allclose(partial_all, full->model(embeds, attention).hidden, 1e-12, 1e-12));
  const auto partial_none = partial->model(embeds, attention, false, torch::zeros_like(image)).hidden;
  CHECK(torch::equal(partial_none, base->model(embeds, attention).hidden));
  // The model marks the image tokens itself: rows before their first image token are the base
  // model's (causal attention), and the rest differs from both the base and the full adapter.
  const auto logits = partial->forward(batch).logits, base_logits = base->forward(batch).logits;
  const auto full_logits = full->forward(batch).logits;
  for (int64_t row = 0; row < image.size(0); ++row) {
    const auto first_image = image[row].to(torch::kLong).argmax().item<int64_t>();
    INFO("row " << row << ", first image token " << first_image);
    CHECK(torch::allclose(logits[row].narrow(0, 0, first_image), base_logits[row].narrow(0, 0, first_image), 1e-12,
                          1e-12));
    const auto after = image.size(1) - first_image;
    CHECK_FALSE(torch::allclose(logits[row].narrow(0, first_image, after),
                                base_logits[row].narrow(0, first_image, after), 1e-6, 1e-6));
    CHECK_FALSE(torch::allclose(logits[row].narrow(0, first_image, after),
                                full_logits[row].narrow(0, first_image, after), 1e-6, 1e-6));
  }
}

TEST_CASE("Partial LoRA: text-only batches give the adapters no gradient, generation keeps the mask", "[lora]") {
  auto config = with_lora("internlm2");
  config.lora.partial = true;
  TrolModel model(config);
  test::randomize_parameters(*model, 67, 0.2);
  model->to(torch::kFloat64);
  ParameterGroups().set_trainable(*model, {{"llm", false}, {"lora", true}, {"projector", false}, {"mixer", false}});
  SyntheticBatchShape text_only;
  text_only.images_per_sample = 0;
  model->train();
  model->forward(synthetic_batch(config, text_only, 68)).loss.mean.backward();
  for (const auto& name : adapter_names(model)) {
    INFO(name);
    const auto grad = model->named_parameters()[name].grad();
    CHECK((!grad.defined() || grad.abs().max().item<double>() == 0.0));
  }
  model->zero_grad();
  model->forward(batch_for(config)).loss.mean.backward();
  double norm = 0;
  for (const auto& name : adapter_names(model)) norm += model->named_parameters()[name].grad().norm().item<double>();
  CHECK(norm > 0);

  // Decoding with the KV cache passes the prompt's mask, then text masks, as a full forward
  // per step does (generated tokens are never image tokens).
  const auto batch = batch_for(config);
  const auto length = batch.attention_mask[0].sum().item<int64_t>();
  const auto ids = batch.input_ids[0].narrow(0, 0, length);
  std::vector<int64_t> prompt(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + length);
  const auto pixels = batch.pixel_values.narrow(0, 0, 1);
  GenerateOptions options;
  options.max_new_tokens = 4;
  const auto cached = generate_greedy(model, {prompt}, pixels, options);
  options.use_cache = false;
  CHECK(generate_greedy(model, {prompt}, pixels, options) == cached);
  torch::NoGradGuard no_grad;
  model->eval();
  auto sequence = prompt;
  for (int64_t step = 0; step < 4; ++step) {  // by hand: a full forward per step
    const auto input = torch::tensor(sequence, torch::kLong).unsqueeze(0);
    sequence.push_back(model->forward(ModelInputs{input, torch::ones_like(input), pixels, {}}).logits[0][-1].argmax().item<int64_t>());
  }
  CHECK(std::vector<int64_t>(sequence.begin() + length, sequence.end()) == cached[0]);
}

TEST_CASE("Partial LoRA: configs need adapters and images", "[lora]") {
  auto config = with_lora("internlm2");
  config.lora.partial = true;
  validate(config);
  config.vision.enabled = false;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.lora.partial") && ContainsSubstring("no image tokens"));
  config = test::tiny_config("internlm2");
  config.lora.partial = true;
  CHECK_THROWS_WITH(validate(config), ContainsSubstring("model.lora.partial: needs adapters"));
}

TEST_CASE("QLoRA: quantized base weights stay close to full precision, load from full precision, train only adapters",
          "[lora][quantize]") {
  const std::string mode = GENERATE(std::string("nf4"), std::string("int8"));
  INFO(mode);
  TrolModel full(test::tiny_config("phi3"));
  test::randomize_parameters(*full, 64, 0.2);
  auto config = with_lora("phi3");
  config.quantize = mode;
  TrolModel quantized(config);
  test::TempDir dir("qlora");
  NamedTensors tensors;
  for (const auto& p : full->named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : full->named_buffers()) tensors.emplace_back(b.key(), b.value());
  save_safetensors(dir.file("full.safetensors"), tensors);
  load_model_weights(dir.file("full.safetensors"), *quantized);  // quantized as they load

  auto weights = quantized->named_parameters();
  CHECK(weights["model.layers.0.self_attn.qkv_proj.weight"].numel() == 0);  // no full-precision copy kept
  for (const auto& item : quantized->named_modules()) {
    const auto* linear = dynamic_cast<const LoraLinearImpl*>(item.value().get());
    if (linear == nullptr) continue;
    const auto original = full->named_parameters()[item.key() + ".weight"];
    const auto expected = mode == "nf4" ? dequantize_nf4(quantize_nf4(original)) : dequantize_int8(quantize_int8(original));
    CHECK(torch::equal(linear->base_weight(), expected));
  }

  const auto batch = synthetic_batch(config, SyntheticBatchShape{}, 65);
  full->eval();
  quantized->eval();
  torch::Tensor reference, approximate;
  {
    torch::NoGradGuard no_grad;
    reference = full->forward(batch).logits;
    approximate = quantized->forward(batch).logits;
  }
  const double relative = ((approximate - reference).norm() / reference.norm()).item<double>();
  INFO("relative logit error " << relative);
  CHECK(relative < (mode == "nf4" ? 0.1 : 0.01));  // int8's step is 1/254 of a row, NF4's up to 0.15 of a block
  CHECK(relative > 0);

  // A stage checkpoint of the quantized model (empty weights + quantized buffers) reloads exactly.
  tensors.clear();
  for (const auto& p : quantized->named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : quantized->named_buffers()) tensors.emplace_back(b.key(), b.value());
  save_safetensors(dir.file("quantized.safetensors"), tensors);
  TrolModel reloaded(config);
  load_model_weights(dir.file("quantized.safetensors"), *reloaded);
  reloaded->eval();
  {
    torch::NoGradGuard no_grad;
    CHECK(torch::equal(reloaded->forward(batch).logits, approximate));
  }

  // Gradients through the quantized layers (dequantized again in backward) are those of a
  // plain model holding the dequantized weights.
  auto plain_config = config;
  plain_config.quantize = "none";
  plain_config.lora.dropout = 0;
  config.lora.dropout = 0;
  TrolModel plain(plain_config);
  {
    torch::NoGradGuard no_grad;
    auto plain_parameters = plain->named_parameters();
    for (const auto& p : quantized->named_parameters()) {
      if (p.value().numel() > 0) plain_parameters[p.key()].copy_(p.value());
    }
    for (const auto& item : quantized->named_modules()) {
      if (const auto* linear = dynamic_cast<const LoraLinearImpl*>(item.value().get())) {
        plain_parameters[item.key() + ".weight"].copy_(linear->base_weight());
      }
    }
  }
  const std::map<std::string, bool> adapters_only{{"llm", false}, {"lora", true}, {"projector", false}, {"mixer", false}};
  for (auto* m : {&quantized, &plain}) {
    ParameterGroups().set_trainable(**m, adapters_only);
    (*m)->eval();  // no adapter dropout: the same computation in both
    (*m)->forward(batch).loss.mean.backward();
  }
  auto plain_parameters = plain->named_parameters();
  for (const auto& p : quantized->named_parameters()) {
    INFO(p.key());
    const bool adapter = ParameterGroups().group_of(p.key()) == "lora";
    CHECK(p.value().grad().defined() == adapter);
    if (adapter) CHECK(torch::allclose(p.value().grad(), plain_parameters[p.key()].grad(), 1e-4, 1e-6));
  }
}

}  // namespace test_lora
