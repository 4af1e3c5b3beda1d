// Shared fixtures for the unit tests: tiny configs and weight copying between models.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>

#include "trol/model.h"

namespace trol::test {

// A tiny model: every feature on (GQA, images, traversal), small enough for float64 checks.
inline ModelConfig tiny_config(const std::string& family = "phi3") {
  ModelConfig c;
  c.llm.family = family;
  c.llm.vocab_size = 37;
  c.llm.hidden_size = 16;
  c.llm.num_layers = 2;
  c.llm.num_heads = 4;
  c.llm.num_kv_heads = 2;
  c.llm.intermediate_size = 24;
  c.vision.image_size = 8;
  c.vision.patch_size = 4;
  c.vision.hidden_size = 8;
  c.vision.num_layers = 2;
  c.vision.num_heads = 2;
  c.vision.intermediate_size = 16;
  return c;
}

// Copies every parameter of `from` into the same-named parameter of `to` (shapes must match).
inline void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto target = to.named_parameters();
  for (const auto& p : from.named_parameters()) target[p.key()].copy_(p.value());
}

// Gives every parameter non-trivial values (the default init zeroes gates and biases).
inline void randomize_parameters(torch::nn::Module& module, uint64_t seed, double scale = 0.3) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& p : module.parameters()) p.copy_(torch::randn_like(p) * scale);
}

// Sets every TroL gate to w = 0.5 tanh(bias) + 0.5 with zero weight: bias -1e4 gives w = 0
// exactly, +1e4 gives w = 1 exactly (tanh saturates in float32 and float64).
inline void force_gates(TrolModel& model, double bias) {
  torch::NoGradGuard no_grad;
  for (auto& gate : model->model->gates) {
    gate->weight.zero_();
    gate->bias.fill_(bias);
  }
}

inline ModelInputs text_only(const torch::Tensor& ids) { return {ids, torch::ones_like(ids), {}, {}}; }

// Every parameter's gradient by name, copied to the CPU (parameters without one left out).
inline std::map<std::string, torch::Tensor> gradients_on_cpu(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> grads;
  for (const auto& p : module.named_parameters()) {
    if (p.value().grad().defined()) grads[p.key()] = p.value().grad().cpu().clone();
  }
  return grads;
}

// Largest |a - b| relative to the largest |b|, computed in float64.
inline double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>() /
         std::max(b.abs().max().item<double>(), 1e-30);
}

// Whether a CUDA device is there; without one, prints the line that makes ctest report the
// test as skipped (tests/CMakeLists.txt), and the test returns.
inline bool cuda_or_skip() {
  if (torch::cuda::is_available()) return true;
  std::cout << "trol-test-skipped: no CUDA device" << std::endl;
  return false;
}

// A TCP port on loopback that nothing listens on (for a rendezvous store).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace trol::test
