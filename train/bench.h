// `trol bench`: how much of the machine a training step, a forward pass (prefill), decoding
// with the KV cache or the data pipeline turns into work. Warm-up iterations, then timed ones; the result holds the step
// time's median and spread, tokens/s, model FLOPs (trol/model_flops.h), achieved FLOP/s, the
// machine's matrix-product peak measured in the same process, MFU, and peak memory. Decoding
// is memory-bound, so its result is the time per generated token along the generation and the
// speed-up over recomputing the whole sequence, rather than MFU.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "train/run_config.h"

namespace trol {

struct BenchOptions {
  std::string what = "train";      // train | prefill | decode | data
  int64_t warmup = 2;              // untimed iterations first
  int64_t iterations = 10;         // timed iterations
  int64_t batch_size = 4;          // sequences per step
  int64_t seq_len = 0;             // positions per sequence, the prompt's for decode (0: data.max_length)
  int64_t new_tokens = 256;        // decode: tokens generated per iteration
  std::string decode = "exact";    // decode: exact | released (DecodeMode)
  int64_t peak_size = 2048;        // side of the square matrix product that measures the peak (0: skip)
  std::string profile_file;        // train/prefill: write a Chrome trace of the timed iterations here
  std::string export_dir;          // train: also write the first step's inputs, weights, loss and
                                   // gradients here, for the independent Python reference
};

// Runs one benchmark of the model (or data pipeline) of `config`. Train, prefill and decode
// (its prompts) run on random, well-formed batches of batch_size x seq_len (every position real, one image per
// sequence when the model has a vision encoder); the data benchmark reads the first training
// stage's datasets under data.root. Throws std::invalid_argument for an unknown `what` or
// impossible sizes.
nlohmann::ordered_json run_bench(const RunConfig& config, const BenchOptions& options);

// Logs run_bench's result as the lines `trol bench` prints (step or token times, tokens/s,
// FLOP/s, MFU and peak memory where measured).
void log_bench_summary(const nlohmann::ordered_json& result);

// The best fp32 (bf16 on CUDA) FLOP/s of an n x n matrix product on `device`, best of 10 tries.
double measure_matmul_peak(int64_t n, torch::Device device, torch::ScalarType dtype);

}  // namespace trol
