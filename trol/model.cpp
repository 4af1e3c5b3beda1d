#include "trol/model.h"

#include <optional>
#include <stdexcept>

#include "trol/image_merge.h"
#include "trol/linear_map.h"
#include "trol/lora_linear.h"
#include "trol/projector.h"

namespace trol {

TrolModelImpl::TrolModelImpl(const ModelConfig& config) : config_(config) {
  validate(config_);
  if (config_.vision.enabled) {
    vision_model = register_module("vision_model", VisionEncoder(config_.vision));
    vision_proj = register_module("vision_proj", make_projector(config_));
  }
  model = register_module("model", Decoder(config_.llm, config_.trol));
  if (!config_.llm.tie_word_embeddings) {
    const bool phi3 = config_.llm.layout() == LlmFamily::Phi3;
    lm_head = register_module(phi3 ? "lm_head" : "output",
                              torch::nn::Linear(torch::nn::LinearOptions(config_.llm.hidden_size, config_.llm.vocab_size).bias(false)));
  }
  initialize_weights(*this);
  if (config_.lora.rank > 0) add_lora_adapters(*this, config_.lora);
  quantize_base_weights(*this, parse_quantize_mode(config_.quantize));
  if (vision_model && config_.vision.frozen) {
    for (auto& p : vision_model->parameters()) p.set_requires_grad(false);
  }
}

torch::Tensor TrolModelImpl::encode_images(const torch::Tensor& pixel_values) {
  if (!vision_model) throw std::invalid_argument("this model has no vision encoder (model.vision.enabled is false)");
  return vision_proj->forward(vision_model(pixel_values));
}

torch::Tensor TrolModelImpl::encode_tower_output(const torch::Tensor& tower_output) {
  if (!vision_model) throw std::invalid_argument("this model has no vision encoder (model.vision.enabled is false)");
  return vision_proj->forward(vision_model->from_tower_output(tower_output));
}

torch::Tensor TrolModelImpl::adapter_mask(const torch::Tensor& input_ids) const {
  if (config_.lora.rank == 0 || !config_.lora.partial) return {};
  return input_ids.eq(config_.resolved_image_token_id());
}

torch::Tensor TrolModelImpl::embed(const ModelInputs& inputs) {
  const auto image_mask = inputs.input_ids.eq(config_.resolved_image_token_id());
  // Image positions are looked up as token 0 and overwritten by the merge below.
  const auto text = model->embed(inputs.input_ids.masked_fill(image_mask, 0));
  torch::Tensor features;
  const bool pixels = inputs.pixel_values.defined() && inputs.pixel_values.size(0) > 0;
  const bool tower_output = inputs.image_tower_output.defined() && inputs.image_tower_output.size(0) > 0;
  if (pixels && tower_output) throw std::invalid_argument("give the images as pixel values or as tower output, not both");
  if (pixels) features = encode_images(inputs.pixel_values);
  if (tower_output) features = encode_tower_output(inputs.image_tower_output);
  return merge_image_features(text, image_mask, features, inputs.image_positions);
}

ModelInputs with_image_positions(ModelInputs inputs, int64_t image_token_id) {
  inputs.image_positions = inputs.input_ids.eq(image_token_id).sum().item<int64_t>();
  return inputs;
}

ModelOutput TrolModelImpl::forward(const ModelInputs& inputs, bool collect_gate_ratios) {
  if (inputs.input_ids.dim() != 2) {
    throw std::invalid_argument("input_ids must be [batch, seq], got " + c10::str(inputs.input_ids.sizes()));
  }
  const auto attention_mask =
      inputs.attention_mask.defined() ? inputs.attention_mask : torch::ones_like(inputs.input_ids);
  if (attention_mask.sizes() != inputs.input_ids.sizes()) {
    throw std::invalid_argument("attention_mask " + c10::str(attention_mask.sizes()) + " does not match input_ids " +
                                c10::str(inputs.input_ids.sizes()));
  }
  auto decoded =
      model(embed(inputs), attention_mask, collect_gate_ratios, adapter_mask(inputs.input_ids), inputs.right_padded);
  ModelOutput out;
  out.logits = lm_logits(decoded.hidden);
  out.gate_ratios = decoded.gate_ratios;
  if (inputs.labels.defined()) out.loss = causal_lm_loss(out.logits, inputs.labels);
  return out;
}

torch::Tensor TrolModelImpl::lm_logits(const torch::Tensor& hidden) {
  return linear_map(hidden, lm_head ? lm_head->weight : model->embed->weight, lm_head ? lm_head->bias : torch::Tensor());
}

ModelInputs to_device(const ModelInputs& inputs, torch::Device device, torch::ScalarType dtype) {
  ModelInputs out = inputs;
  // Non-blocking: from page-locked host memory (the batch loader pins for a GPU) the copies
  // overlap with the GPU's work; from pageable memory they are synchronous as before.
  auto move = [&](torch::Tensor& t, std::optional<torch::ScalarType> to = std::nullopt) {
    if (t.defined()) t = t.to(device, to.value_or(t.scalar_type()), /*non_blocking=*/true);
  };
  move(out.input_ids);
  move(out.attention_mask);
  move(out.labels);
  move(out.pixel_values, dtype);
  move(out.image_tower_output, dtype);
  return out;
}

void initialize_weights(torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  for (auto& entry : module.named_modules("", /*include_self=*/false)) {
    auto& m = *entry.value();
    const bool is_gate = entry.key().find("trol_gating.") != std::string::npos;
    if (auto* linear = m.as<torch::nn::Linear>()) {
      if (is_gate) linear->weight.zero_();
      else linear->weight.normal_(0.0, std);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* embedding = m.as<torch::nn::Embedding>()) {
      embedding->weight.normal_(0.0, std);
    } else if (auto* conv = m.as<torch::nn::Conv2d>()) {
      conv->weight.normal_(0.0, std);
    }
  }
}

}  // namespace trol
