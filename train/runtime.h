// Process-wide runtime settings: device, dtype, seed, threads, and the BLAS check.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

namespace trol {

class ConfigReader;

struct RuntimeConfig {
  std::string device = "cpu";      // cpu | cuda | cuda:N
  std::string dtype = "float32";   // float32 | bfloat16 | float16: parameters and activations
  std::string mixed_precision = "none";  // none | bfloat16 | float16: autocast the training forward to
                                   // this dtype over float32 parameters (dtype must be float32);
                                   // float16 adds dynamic loss scaling and needs CUDA
  int64_t seed = 0;                // seeds every random number generator trol uses
  int64_t intra_op_threads = 0;    // LibTorch intra-op threads; 0 = trol's measured choice (1 on CPU)
  int64_t blas_threads = 0;        // OpenBLAS threads; 0 = OpenBLAS's default (all cores). 1 suits
                                   // several small runs side by side (scripts/run.sh trains two at once)
  bool fused_cpu_kernels = true;   // trol's own float32 CPU kernels (trol/fused_cpu_ops.h: RMSNorm, rotary,
                                   // SiLU gating, attention, LM loss, AdamW, one-row linear);
                                   // false: LibTorch's composite ops (for comparisons)
};

RuntimeConfig read_runtime_config(ConfigReader& reader);

torch::Device parse_device(const std::string& text, const std::string& key = "runtime.device");
torch::ScalarType parse_dtype(const std::string& text, const std::string& key = "runtime.dtype");

// The device a rank of a launched run drives when the config says `requested`: its own GPU,
// cuda:LOCAL_RANK, for any CUDA device (a cuda:N meant for one process would put every rank
// on one GPU), or cuda:0 where the launcher shows each rank one GPU (CUDA_VISIBLE_DEVICES per
// task, as srun --gpus-per-task=1 does). CPU stays CPU. Throws ConfigError when the node has
// fewer visible GPUs than local ranks.
std::string rank_device(const std::string& requested, int64_t local_rank, int64_t visible_gpus);

// runtime.mixed_precision as the autocast dtype; nullopt for "none".
std::optional<torch::ScalarType> mixed_precision_dtype(const RuntimeConfig& config);

// Applies the runtime settings to the process: threads (logged when trol overrides the
// default, with the reason), seeds, and a one-time check that a fast BLAS is in use.
// Throws ConfigError when the device is unavailable.
void configure_runtime(const RuntimeConfig& config);

struct BlasReport {
  std::string library;    // the shared object LibTorch resolved for BLAS ("" if none seen)
  bool known_fast = false;  // OpenBLAS, MKL or BLIS
  double gflops = 0.0;    // measured fp32 matrix-product throughput
};

// Finds which BLAS the process loaded and measures a small fp32 matrix product.
BlasReport check_blas();

}  // namespace trol
