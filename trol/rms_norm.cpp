#include "trol/rms_norm.h"

#include "trol/fused_cpu_ops.h"

namespace trol {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  if (fused_cpu_applies(x) && weight.scalar_type() == torch::kFloat32) return fused_rms_norm(x, weight, eps_);
  // At least float32 statistics under bf16/fp16, as the Hugging Face implementations do
  // (float64 stays float64, for gradient checks).
  const auto x32 = x.to(torch::promote_types(x.scalar_type(), torch::kFloat32));
  const auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * normed.to(x.scalar_type());
}

}  // namespace trol
