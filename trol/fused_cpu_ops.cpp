#include "trol/fused_cpu_ops.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <vector>

namespace trol {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kRowsPerTask = 16;

std::atomic<bool> fused_enabled{true};

class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& weight_in, double eps) {
    const auto x = x_in.contiguous();
    const auto weight = weight_in.contiguous();
    const int64_t h = x.size(-1), rows = x.numel() / h;
    auto out = torch::empty_like(x);
    auto rstd = torch::empty({rows}, x.options());
    const float* xp = x.data_ptr<float>();
    const float* wp = weight.data_ptr<float>();
    float* op = out.data_ptr<float>();
    float* rp = rstd.data_ptr<float>();
    at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* xr = xp + r * h;
        double squares = 0;
        for (int64_t i = 0; i < h; ++i) squares += static_cast<double>(xr[i]) * xr[i];
        const auto rs = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(h) + eps));
        rp[r] = rs;
        float* orow = op + r * h;
        for (int64_t i = 0; i < h; ++i) orow[i] = wp[i] * (xr[i] * rs);
      }
    });
    ctx->save_for_backward({x, weight, rstd});
    return out;
  }

  // y = w x rs with rs = (mean(x^2) + eps)^-1/2:
  //   dx_j = rs g_j w_j - x_j rs^3 / h * sum_i g_i w_i x_i,    dw_j = sum over rows of g_j x_j rs
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto& rstd = saved[2];
    const auto grad = grads[0].contiguous();
    const int64_t h = x.size(-1), rows = x.numel() / h;
    auto dx = torch::empty_like(x);
    const float* xp = x.data_ptr<float>();
    const float* wp = weight.data_ptr<float>();
    const float* rp = rstd.data_ptr<float>();
    const float* gp = grad.data_ptr<float>();
    float* dxp = dx.data_ptr<float>();
    // One weight-gradient row per thread, summed at the end (no races, a fixed order per thread).
    auto dw_parts = torch::zeros({at::get_num_threads(), h}, torch::TensorOptions().dtype(torch::kFloat64));
    double* dwp = dw_parts.data_ptr<double>();
    at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
      double* dw = dwp + at::get_thread_num() * h;
      for (int64_t r = begin; r < end; ++r) {
        const float* xr = xp + r * h;
        const float* gr = gp + r * h;
        const float rs = rp[r];
        double dot = 0;
        for (int64_t i = 0; i < h; ++i) dot += static_cast<double>(gr[i]) * wp[i] * xr[i];
        const auto c = static_cast<float>(dot * rs * rs * rs / static_cast<double>(h));
        float* dxr = dxp + r * h;
        for (int64_t i = 0; i < h; ++i) {
          dxr[i] = rs * gr[i] * wp[i] - xr[i] * c;
          dw[i] += static_cast<double>(gr[i]) * xr[i] * rs;
        }
      }
    });
    return {dx, dw_parts.sum(0).to(weight.scalar_type()), torch::Tensor()};
  }
};

// The sigmoid itself comes from LibTorch's vectorised kernel (a scalar exp per element was
// slower than the passes saved); the rest of each direction is one fused pass.
class SiluGateFunction : public torch::autograd::Function<SiluGateFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gate_up_in) {
    const auto gate_up = gate_up_in.contiguous();
    const int64_t f = gate_up.size(-1) / 2, rows = gate_up.numel() / (2 * f);
    auto out = torch::sigmoid(gate_up.narrow(-1, 0, f)).contiguous();  // becomes g s(g) u in place
    const float* in = gate_up.data_ptr<float>();
    float* op = out.data_ptr<float>();
    at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* g = in + r * 2 * f;
        const float* u = g + f;
        float* o = op + r * f;
        for (int64_t i = 0; i < f; ++i) o[i] = g[i] * o[i] * u[i];
      }
    });
    ctx->save_for_backward({gate_up});
    return out;
  }

  // out = g s(g) u:  d/du = g s(g),  d/dg = u s(g) (1 + g (1 - s(g)))
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto gate_up = ctx->get_saved_variables()[0];
    const auto grad = grads[0].contiguous();
    const int64_t f = gate_up.size(-1) / 2, rows = gate_up.numel() / (2 * f);
    const auto sig = torch::sigmoid(gate_up.narrow(-1, 0, f)).contiguous();
    auto d_gate_up = torch::empty_like(gate_up);
    const float* in = gate_up.data_ptr<float>();
    const float* sp = sig.data_ptr<float>();
    const float* gp = grad.data_ptr<float>();
    float* dp = d_gate_up.data_ptr<float>();
    at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* g = in + r * 2 * f;
        const float* u = g + f;
        const float* s = sp + r * f;
        const float* dy = gp + r * f;
        float* dg = dp + r * 2 * f;
        float* du = dg + f;
        for (int64_t i = 0; i < f; ++i) {
          du[i] = dy[i] * g[i] * s[i];
          dg[i] = dy[i] * u[i] * s[i] * (1.0f + g[i] * (1.0f - s[i]));
        }
      }
    });
    return {d_gate_up};
  }
};

// Rotary embedding of x [B, H, T, d] (any strides, last dimension contiguous) with tables
// [B, T, d], written as a contiguous [B, H, T, d]: the rotation and the copy the attention's
// matrix product needs anyway, in one pass. Backward rotates the gradient the other way.
class RotaryFunction : public torch::autograd::Function<RotaryFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos_in,
                               const torch::Tensor& sin_in) {
    const auto cos = cos_in.contiguous(), sin = sin_in.contiguous();
    auto out = torch::empty(x.sizes(), x.options().memory_format(torch::MemoryFormat::Contiguous));
    rotate(x, cos, sin, out, /*inverse=*/false);
    ctx->save_for_backward({cos, sin});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& grad = grads[0];
    auto dx = torch::empty(grad.sizes(), grad.options().memory_format(torch::MemoryFormat::Contiguous));
    rotate(grad, saved[0], saved[1], dx, /*inverse=*/true);
    return {dx, torch::Tensor(), torch::Tensor()};
  }

 private:
  // out = x cos + rotate_half(x) sin, rotate_half(x) = [-x2, x1]; the inverse (the gradient)
  // is g cos + [g2 sin2, -g1 sin1].
  static void rotate(const torch::Tensor& x_in, const torch::Tensor& cos, const torch::Tensor& sin, torch::Tensor& out,
                     bool inverse) {
    const auto x = x_in.stride(3) == 1 ? x_in : x_in.contiguous();
    const int64_t batch = x.size(0), heads = x.size(1), seq = x.size(2), d = x.size(3), half = d / 2;
    const int64_t sb = x.stride(0), sh = x.stride(1), st = x.stride(2);
    const float* xp = x.data_ptr<float>();
    const float* cp = cos.data_ptr<float>();
    const float* sp = sin.data_ptr<float>();
    float* op = out.data_ptr<float>();
    at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / heads, h = bh % heads;
        for (int64_t t = 0; t < seq; ++t) {
          const float* xr = xp + b * sb + h * sh + t * st;
          const float* c = cp + (b * seq + t) * d;
          const float* s = sp + (b * seq + t) * d;
          float* o = op + (bh * seq + t) * d;
          for (int64_t i = 0; i < half; ++i) {
            const float x1 = xr[i], x2 = xr[i + half];
            if (inverse) {
              o[i] = x1 * c[i] + x2 * s[i + half];
              o[i + half] = x2 * c[i + half] - x1 * s[i];
            } else {
              o[i] = x1 * c[i] - x2 * s[i];
              o[i + half] = x2 * c[i + half] + x1 * s[i + half];
            }
          }
        }
      }
    });
  }
};

}  // namespace

void set_fused_cpu_kernels(bool enabled) { fused_enabled = enabled; }

bool fused_cpu_kernels_enabled() { return fused_enabled; }

bool fused_cpu_applies(const torch::Tensor& x) {
  return fused_enabled && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.numel() > 0;
}

torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32 && weight.device().is_cpu(),
              "fused_rms_norm: float32 CPU tensors only");
  TORCH_CHECK(x.dim() > 0 && x.size(-1) > 0, "fused_rms_norm: empty last dimension");
  TORCH_CHECK(weight.dim() == 1 && weight.size(0) == x.size(-1), "fused_rms_norm: weight ", weight.sizes(),
              " does not match the last dimension of ", x.sizes());
  return RmsNormFunction::apply(x, weight, eps);
}

torch::Tensor fused_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && cos.scalar_type() == torch::kFloat32 &&
                  sin.scalar_type() == torch::kFloat32,
              "fused_rotary: float32 CPU tensors only");
  TORCH_CHECK(x.dim() == 4 && x.size(3) % 2 == 0 && cos.dim() == 3 && cos.sizes() == sin.sizes() &&
                  cos.size(0) == x.size(0) && cos.size(1) == x.size(2) && cos.size(2) == x.size(3),
              "fused_rotary: x ", x.sizes(), " needs [B, H, T, d] with d even and tables [B, T, d], got ", cos.sizes());
  return RotaryFunction::apply(x, cos, sin);
}

torch::Tensor fused_silu_gate(const torch::Tensor& gate_up) {
  TORCH_CHECK(gate_up.device().is_cpu() && gate_up.scalar_type() == torch::kFloat32, "fused_silu_gate: float32 CPU tensors only");
  TORCH_CHECK(gate_up.dim() > 0 && gate_up.size(-1) > 0 && gate_up.size(-1) % 2 == 0, "fused_silu_gate: the last dimension (", gate_up.size(-1), ") must be even");
  return SiluGateFunction::apply(gate_up);
}

}  // namespace trol
