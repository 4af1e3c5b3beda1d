#include "trol/lora_linear.h"

#include "trol/config_reader.h"
#include "trol/linear_map.h"

#include <fnmatch.h>

#include <cmath>
#include <stdexcept>

namespace trol {

namespace {

// x W^T for a frozen weight stored quantized: the weight is dequantized in the forward and
// again in the backward (as bitsandbytes does), so no full-precision copy of it stays alive
// between the two passes, which would give back the memory quantization saved, twice over
// with traversal.
torch::Tensor dequantize_buffers(const torch::OrderedDict<std::string, torch::Tensor>& buffers, QuantizeMode mode,
                                 const std::vector<int64_t>& shape, torch::Device device) {
  if (mode == QuantizeMode::nf4) {
    return dequantize_nf4({buffers["weight_nf4_codes"], buffers["weight_nf4_block_max"],
                           buffers["weight_nf4_block_max_scale"], buffers["weight_nf4_block_max_offset"], shape})
        .to(device);
  }
  return dequantize_int8({buffers["weight_int8"], buffers["weight_int8_scale"]}).to(device);
}

struct Dequantizer : torch::CustomClassHolder {
  std::function<torch::Tensor()> weight;
};

struct QuantizedMatmul : public torch::autograd::Function<QuantizedMatmul> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               c10::intrusive_ptr<Dequantizer> dequantizer) {
    ctx->saved_data["dequantizer"] = c10::IValue::make_capsule(dequantizer);
    return linear_map(x, dequantizer->weight().to(x.scalar_type()));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto dequantizer =
        c10::static_intrusive_pointer_cast<Dequantizer>(ctx->saved_data["dequantizer"].toCapsule());
    const auto& grad = grad_outputs[0];
    return {grad.matmul(dequantizer->weight().to(grad.scalar_type())), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x, const torch::Tensor& adapter_mask) {
  torch::Tensor y;
  if (quantized_ == QuantizeMode::none) {
    y = linear_map(x, weight, bias);
  } else {
    auto dequantizer = c10::make_intrusive<Dequantizer>();
    // The buffers by handle: the closure outlives this call (it runs again in backward).
    const auto buffers = named_buffers(/*recurse=*/false);
    const auto mode = quantized_;
    const auto shape = base_shape_;
    const auto device = weight.device();
    dequantizer->weight = [buffers, mode, shape, device] { return dequantize_buffers(buffers, mode, shape, device); };
    y = QuantizedMatmul::apply(x, dequantizer);
    if (bias.defined()) y = y + bias;
  }
  if (!has_adapter()) return y;
  const auto input = dropout > 0 && is_training() ? torch::dropout(x, dropout, /*train=*/true) : x;
  // (x A^T) B^T: two thin products, never the full [out, in] update.
  const auto update = linear_map(linear_map(input, lora_A), lora_B) * scaling;
  if (!partial_) return y + update;
  if (!adapter_mask.defined()) {
    throw std::invalid_argument("a Partial LoRA layer (model.lora.partial) needs the image-token mask; this call passed none");
  }
  if (x.dim() < 2 || adapter_mask.sizes() != x.sizes().slice(0, x.dim() - 1)) {
    throw std::invalid_argument("Partial LoRA: adapter mask " + c10::str(adapter_mask.sizes()) +
                                " does not match the input " + c10::str(x.sizes()));
  }
  // The update everywhere, then masked: shapes stay static and nothing waits for the device, as
  // gathering the masked rows would (their count is data); image tokens are most of a row anyway.
  return y + update * adapter_mask.unsqueeze(-1).to(update.scalar_type());
}

void LoraLinearImpl::add_adapter(int64_t rank, double alpha, double dropout_probability, bool partial) {
  if (has_adapter()) throw std::logic_error("LoraLinear: this layer already has an adapter");
  if (rank < 1) throw std::invalid_argument("LoRA rank must be at least 1");
  const auto in = weight.size(1), out = weight.size(0);
  const auto options = weight.options().requires_grad(false);  // register_parameter makes them trainable
  // As PEFT initialises A: Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  lora_A = register_parameter("lora_A", torch::empty({rank, in}, options).uniform_(-bound, bound));
  lora_B = register_parameter("lora_B", torch::zeros({out, rank}, options));
  scaling = alpha / static_cast<double>(rank);
  dropout = dropout_probability;
  partial_ = partial;
}

void add_lora_adapters(torch::nn::Module& model, const LoraConfig& config, const std::string& key) {
  for (const auto& pattern : config.targets) {
    size_t adapted = 0;
    for (const auto& item : model.named_modules("", /*include_self=*/false)) {
      if (fnmatch(pattern.c_str(), item.key().c_str(), 0) != 0) continue;
      auto* linear = dynamic_cast<LoraLinearImpl*>(item.value().get());
      if (linear == nullptr) {
        // Parents of matching names (e.g. "model.layers.0" for "model.layers.*") are not targets.
        continue;
      }
      if (!linear->has_adapter()) linear->add_adapter(config.rank, config.alpha, config.dropout, config.partial);
      ++adapted;
    }
    if (adapted == 0) {
      throw ConfigError(key + ": '" + pattern +
                        "' names no decoder projection (adaptable: phi3 model.layers.<i>.self_attn.{qkv_proj,o_proj}, "
                        "model.layers.<i>.mlp.{gate_up_proj,down_proj}; internlm2 model.layers.<i>.attention.{wqkv,wo}, "
                        "model.layers.<i>.feed_forward.{w1,w2,w3})");
    }
  }
}

torch::Tensor LoraLinearImpl::merged_weight() const {
  torch::NoGradGuard no_grad;
  const auto base = base_weight().detach();
  if (!has_adapter()) return base.clone();
  if (partial_) {
    throw std::logic_error("a Partial LoRA adapter applies at image-token positions only and cannot be folded into a weight");
  }
  return base + torch::matmul(lora_B.detach(), lora_A.detach()).to(base.scalar_type()) * scaling;
}

torch::Tensor LoraLinearImpl::base_weight() const {
  if (quantized_ == QuantizeMode::none) return weight;
  return dequantize_buffers(named_buffers(/*recurse=*/false), quantized_, base_shape_, weight.device());
}

void LoraLinearImpl::quantize_base(QuantizeMode mode, const torch::Tensor& from) {
  const auto source = (from.defined() ? from : base_weight()).detach();
  if (source.dim() != 2) throw std::invalid_argument("quantize_base: a [out, in] weight is needed, got " + c10::str(source.sizes()));
  const auto device = weight.device();
  auto set = [&](const std::string& name, const torch::Tensor& value) {
    if (named_buffers(false).contains(name)) {
      named_buffers(false)[name].set_data(value.to(device));
    } else {
      register_buffer(name, value.to(device));
    }
  };
  if (mode == QuantizeMode::nf4) {
    const auto q = quantize_nf4(source);
    set("weight_nf4_codes", q.codes);
    set("weight_nf4_block_max", q.block_max_q);
    set("weight_nf4_block_max_scale", q.block_max_scale);
    set("weight_nf4_block_max_offset", q.block_max_offset);
  } else if (mode == QuantizeMode::int8) {
    const auto q = quantize_int8(source);
    set("weight_int8", q.values);
    set("weight_int8_scale", q.scales);
  } else {
    throw std::invalid_argument("quantize_base: no quantization mode");
  }
  if (quantized_ != QuantizeMode::none && quantized_ != mode) throw std::logic_error("quantize_base: already quantized differently");
  quantized_ = mode;
  base_shape_ = source.sizes().vec();
  // The full-precision weight goes; an empty parameter keeps the name, frozen.
  torch::NoGradGuard no_grad;
  weight.set_data(torch::empty({0}, weight.options()));
  weight.set_requires_grad(false);
}

namespace {

// Runs `convert` (a Module::to) and gives the integer buffers back their dtype.
template <typename Convert>
void keeping_integer_buffers(torch::nn::Module& module, const Convert& convert) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> integers;  // (buffer, its data before)
  for (auto& b : module.named_buffers(/*recurse=*/false)) {
    if (!b.value().is_floating_point()) integers.emplace_back(b.value(), b.value().detach());
  }
  convert();
  for (auto& [buffer, before] : integers) buffer.set_data(before.to(buffer.device()));
}

}  // namespace

void LoraLinearImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  keeping_integer_buffers(*this, [&] { torch::nn::LinearImpl::to(device, dtype, non_blocking); });
}

void LoraLinearImpl::to(torch::Dtype dtype, bool non_blocking) {
  keeping_integer_buffers(*this, [&] { torch::nn::LinearImpl::to(dtype, non_blocking); });
}

void quantize_base_weights(torch::nn::Module& model, QuantizeMode mode) {
  if (mode == QuantizeMode::none) return;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto* linear = dynamic_cast<LoraLinearImpl*>(item.value().get())) linear->quantize_base(mode);
  }
}

}  // namespace trol
