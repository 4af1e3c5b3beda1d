#include "trol/activation_checkpoint.h"

#include <optional>

#include "trol/compat.h"
#include "trol/generator_state.h"

namespace trol {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The CPU generator, and the CUDA one of the inputs' device if they are on one.
struct GeneratorState {
  torch::Tensor cpu, gpu;
  std::optional<torch::Device> gpu_device;

  static GeneratorState capture(const std::vector<torch::Tensor>& inputs) {
    GeneratorState state;
    state.cpu = generator_state(torch::kCPU);
    for (const auto& t : inputs) {
      if (t.defined() && t.is_cuda()) {
        state.gpu_device = t.device();
        state.gpu = generator_state(t.device());
        break;
      }
    }
    return state;
  }

  void restore() const {
    set_generator_state(torch::kCPU, cpu);
    if (gpu_device) set_generator_state(*gpu_device, gpu);
  }
};

// The forward pass's autocast state: the backward runs after the training step's autocast
// guard has closed, and the recomputation must run in the forward's precision for its
// gradients to be those of the forward that produced the loss (as torch.utils.checkpoint does).
struct AutocastState {
  std::optional<torch::ScalarType> cpu, cuda;

  static AutocastState capture() {
    return {compat::autocast_dtype(torch::kCPU), compat::autocast_dtype(torch::kCUDA)};
  }
};

struct Recomputable : torch::CustomClassHolder {
  Block block;
  size_t num_inputs = 0;
  GeneratorState generators;
  AutocastState autocast;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  // `tensors` holds the block's inputs, then its parameters.
  static variable_list forward(AutogradContext* ctx, at::TensorList tensors, c10::intrusive_ptr<Recomputable> body) {
    const std::vector<torch::Tensor> inputs(tensors.begin(), tensors.begin() + static_cast<std::ptrdiff_t>(body->num_inputs));
    body->generators = GeneratorState::capture(inputs);
    body->autocast = AutocastState::capture();
    auto outputs = body->block(inputs);  // custom functions run their forward with grad mode off
    ctx->save_for_backward(tensors.vec());
    ctx->saved_data["body"] = c10::IValue::make_capsule(body);
    return outputs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto body = c10::static_intrusive_pointer_cast<Recomputable>(ctx->saved_data["body"].toCapsule());
    std::vector<torch::Tensor> inputs, targets;
    std::vector<size_t> target_positions;
    for (size_t i = 0; i < saved.size(); ++i) {
      if (i < body->num_inputs) {
        auto input = saved[i].defined() ? saved[i].detach().requires_grad_(saved[i].requires_grad()) : saved[i];
        inputs.push_back(input);
        if (input.defined() && input.requires_grad()) {
          targets.push_back(input);
          target_positions.push_back(i);
        }
      } else if (saved[i].requires_grad()) {
        targets.push_back(saved[i]);
        target_positions.push_back(i);
      }
    }

    // Recompute under the forward pass's generator states and autocast state, then put the
    // current ones back.
    const auto now = GeneratorState::capture(inputs);
    body->generators.restore();
    std::vector<torch::Tensor> outputs;
    {
      torch::AutoGradMode enable(true);
      compat::AutocastGuard cpu_autocast(torch::kCPU, body->autocast.cpu);
      compat::AutocastGuard cuda_autocast(torch::kCUDA, body->autocast.cuda);
      outputs = body->block(inputs);
    }
    now.restore();

    std::vector<torch::Tensor> differentiable, incoming;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].requires_grad() && grad_outputs[i].defined()) {
        differentiable.push_back(outputs[i]);
        incoming.push_back(grad_outputs[i]);
      }
    }
    variable_list grads(saved.size() + 1);  // one per forward argument: the tensors, then `body`
    if (differentiable.empty() || targets.empty()) return grads;
    const auto computed = torch::autograd::grad(differentiable, targets, incoming, /*retain_graph=*/false,
                                                /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t k = 0; k < targets.size(); ++k) grads[target_positions[k]] = computed[k];
    return grads;
  }
};

}  // namespace

std::vector<torch::Tensor> checkpointed(const Block& block, const std::vector<torch::Tensor>& inputs,
                                        const std::vector<torch::Tensor>& parameters) {
  if (!torch::GradMode::is_enabled()) return block(inputs);
  auto body = c10::make_intrusive<Recomputable>();
  body->block = block;
  body->num_inputs = inputs.size();
  std::vector<torch::Tensor> tensors(inputs);
  tensors.insert(tensors.end(), parameters.begin(), parameters.end());
  return CheckpointFunction::apply(at::TensorList(tensors), body);
}

}  // namespace trol
