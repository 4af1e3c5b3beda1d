#include "train/runtime.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <dlfcn.h>
#include <malloc.h>

#include <chrono>
#include <climits>
#include <fstream>

#include "trol/config_reader.h"
#include "trol/fused_cpu_ops.h"

namespace trol {

RuntimeConfig read_runtime_config(ConfigReader& reader) {
  RuntimeConfig c;
  reader.read("device", c.device);
  reader.read("dtype", c.dtype);
  reader.read("seed", c.seed);
  reader.read("intra_op_threads", c.intra_op_threads);
  reader.read("blas_threads", c.blas_threads);
  reader.read("fused_cpu_kernels", c.fused_cpu_kernels);
  reader.read("mixed_precision", c.mixed_precision);
  reader.finish();
  const auto device = parse_device(c.device, reader.path() + ".device");
  parse_dtype(c.dtype, reader.path() + ".dtype");
  if (c.mixed_precision != "none") {
    if (c.mixed_precision != "bfloat16" && c.mixed_precision != "float16") {
      reader.fail("mixed_precision", "expected none, bfloat16 or float16, got '" + c.mixed_precision + "'");
    }
    if (c.dtype != "float32") {
      reader.fail("mixed_precision", "keeps float32 master weights: set runtime.dtype: float32 (it is " + c.dtype + ")");
    }
    if (c.mixed_precision == "float16" && !device.is_cuda()) {
      reader.fail("mixed_precision", "float16 autocast needs CUDA (LibTorch's CPU autocast supports bfloat16 only)");
    }
  }
  if (c.intra_op_threads < 0) reader.fail("intra_op_threads", "must be 0 (automatic) or positive");
  if (c.blas_threads < 0) reader.fail("blas_threads", "must be 0 (OpenBLAS's default) or positive");
  return c;
}

std::optional<torch::ScalarType> mixed_precision_dtype(const RuntimeConfig& config) {
  if (config.mixed_precision == "none") return std::nullopt;
  return parse_dtype(config.mixed_precision, "runtime.mixed_precision");
}

std::string rank_device(const std::string& requested, int64_t local_rank, int64_t visible_gpus) {
  if (!parse_device(requested).is_cuda()) return requested;
  if (visible_gpus == 1) return "cuda:0";
  if (local_rank >= visible_gpus) {
    throw ConfigError(fmt::format("runtime.device: local rank {} needs a GPU of its own, but this node shows {} GPU(s) "
                                  "(more ranks per node than GPUs, or CUDA_VISIBLE_DEVICES hides some)",
                                  local_rank, visible_gpus));
  }
  return "cuda:" + std::to_string(local_rank);
}

torch::Device parse_device(const std::string& text, const std::string& key) {
  if (text == "cpu") return torch::kCPU;
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    try {
      return torch::Device(text);
    } catch (const c10::Error&) {
    }
  }
  throw ConfigError(key + ": unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
}

torch::ScalarType parse_dtype(const std::string& text, const std::string& key) {
  if (text == "float32") return torch::kFloat32;
  if (text == "bfloat16") return torch::kBFloat16;
  if (text == "float16") return torch::kFloat16;
  throw ConfigError(key + ": unknown dtype '" + text + "' (expected float32, bfloat16 or float16)");
}

BlasReport check_blas() {
  BlasReport report;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const auto path = line.substr(slash);
    const auto name = path.substr(path.rfind('/') + 1);
    const bool blas_like = name.find("blas") != std::string::npos || name.find("mkl") != std::string::npos ||
                           name.find("blis") != std::string::npos;
    if (!blas_like) continue;
    // Prefer the library behind libblas.so.3 (Debian's alternatives pick the implementation).
    if (report.library.empty() || name.rfind("libblas", 0) == 0) report.library = path;
  }
  for (const char* fast : {"openblas", "mkl", "blis"}) {
    if (report.library.find(fast) != std::string::npos) report.known_fast = true;
  }
  torch::NoGradGuard no_grad;
  const int64_t n = 384;
  const auto a = torch::randn({n, n});
  const auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up: thread pools, page faults
  const int reps = 4;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) c = torch::mm(a, b);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.gflops = reps * 2.0 * n * n * n / seconds / 1e9;
  return report;
}

namespace {

// LibTorch's CPU allocator is plain malloc. glibc serves blocks above its mmap threshold
// (at most 32 MiB) with fresh mmaps and unmaps them on free, so every large activation of
// every step (attention scores, logits, MLP activations) comes back as new pages the kernel
// has to fault in and zero. trol links tcmalloc, which keeps freed memory for reuse
// (BENCHMARKS.md: 2x on the medium bench step). A build without it gets glibc told to keep
// every block in its heap and never trim it: less effective (fragmentation grows the heap),
// still better than the default.
void keep_freed_memory() {
  static bool done = false;
  if (done) return;
  done = true;
  if (::dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr) return;
  spdlog::info("runtime: tcmalloc not linked; tuning glibc malloc to keep freed memory");
  if (mallopt(M_MMAP_MAX, 0) != 1 || mallopt(M_TRIM_THRESHOLD, INT_MAX) != 1) {
    spdlog::warn("runtime: could not tune malloc (large tensors will be re-faulted every step)");
  }
}

}  // namespace

void configure_runtime(const RuntimeConfig& config) {
  const auto device = parse_device(config.device);
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw ConfigError("runtime.device: '" + config.device + "' requested but CUDA is not available in this build/machine");
  }
  if (device.is_cuda() && device.has_index()) {
    if (device.index() >= static_cast<int64_t>(torch::cuda::device_count())) {
      throw ConfigError(fmt::format("runtime.device: '{}' but this machine shows {} GPU(s)", config.device,
                                    torch::cuda::device_count()));
    }
    // The current device, for whatever allocates without naming one (NCCL's communicators,
    // CUDA streams and events): each rank's own GPU, not GPU 0 on every rank.
    c10::impl::getDeviceGuardImpl(device.type())->setDevice(device);
  }
  int64_t threads = config.intra_op_threads;
  if (threads == 0) {
    // Measured on the 2-core CI machine (BENCHMARKS.md): with OpenBLAS running its own
    // threads under LibTorch's, 2 intra-op threads left BLAS workers spinning against
    // element-wise kernels; 1 intra-op thread (BLAS still uses every core) was faster.
    threads = 1;
    spdlog::info("runtime: intra-op threads set to 1 (OpenBLAS keeps its own threads; see BENCHMARKS.md)");
  }
  torch::set_num_threads(static_cast<int>(threads));
  if (config.blas_threads > 0) {
    // OpenBLAS's own setter, looked up at run time: LibTorch reaches BLAS through libblas.so.3,
    // which may be another implementation, and trol does not link OpenBLAS itself.
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
      set(static_cast<int>(config.blas_threads));
      spdlog::info("runtime: OpenBLAS threads set to {} (runtime.blas_threads)", config.blas_threads);
    } else {
      spdlog::warn("runtime.blas_threads = {} ignored: the loaded BLAS is not OpenBLAS", config.blas_threads);
    }
  }
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  keep_freed_memory();
  set_fused_cpu_kernels(config.fused_cpu_kernels);

  static bool checked = false;
  if (!checked && device.is_cpu()) {
    checked = true;
    const auto blas = check_blas();
    // Reference BLAS runs ~6 GFLOP/s here against ~150+ for OpenBLAS.
    if (blas.known_fast && blas.gflops < 20.0) {
      // The library is right; the cores are busy (seen with two trainings and a build at once).
      spdlog::warn("runtime: {} measured only {:.1f} GFLOP/s: other processes are probably using the cores",
                   blas.library, blas.gflops);
    } else if (!blas.known_fast) {
      spdlog::warn("==================================================================");
      spdlog::warn("SLOW BLAS: LibTorch is using '{}' ({:.1f} GFLOP/s).",
                   blas.library.empty() ? "no BLAS library found" : blas.library, blas.gflops);
      spdlog::warn("Matrix products will run ~30x slower. Install OpenBLAS:");
      spdlog::warn("  apt-get install libopenblas0-pthread   (or run scripts/setup.sh)");
      spdlog::warn("==================================================================");
    } else {
      spdlog::debug("runtime: BLAS {} at {:.1f} GFLOP/s", blas.library, blas.gflops);
    }
  }
}

}  // namespace trol
