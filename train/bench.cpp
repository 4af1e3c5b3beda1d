#include "train/bench.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "data/batch_loader.h"
#include "data/synthetic_batch.h"
#include "data/training_set.h"
#include "train/optimizer.h"
#include "train/train_step.h"
#include "train/trainer.h"
#include "trol/causal_lm_loss.h"
#include "trol/kv_cache.h"
#include "trol/model.h"
#include "trol/model_flops.h"
#include "trol/param_groups.h"
#include "trol/safetensors.h"

namespace trol {
namespace {

std::string gflops_text(const nlohmann::ordered_json& value) { return fmt::format("{:.1f} GFLOP/s", value.get<double>() / 1e9); }

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Waits for queued device work, so that a timer stopped after it measures the work.
void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<size_t>(at);
  const auto above = std::min(below + 1, values.size() - 1);
  return values[below] + (at - static_cast<double>(below)) * (values[above] - values[below]);
}

nlohmann::ordered_json spread(const std::vector<double>& seconds) {
  return {{"median", quantile(seconds, 0.5)}, {"p10", quantile(seconds, 0.1)}, {"p90", quantile(seconds, 0.9)},
          {"min", quantile(seconds, 0.0)},    {"max", quantile(seconds, 1.0)}};
}

// Peak resident memory of the process so far (CPU runs).
int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Times `iteration` after `warmup` untimed runs.
template <typename Fn>
std::vector<double> time_iterations(const BenchOptions& options, torch::Device device, Fn&& iteration) {
  for (int64_t i = 0; i < options.warmup; ++i) iteration(i);
  std::optional<torch::autograd::profiler::RecordProfile> profile;
  if (!options.profile_file.empty()) profile.emplace(options.profile_file);
  std::vector<double> seconds;
  for (int64_t i = 0; i < options.iterations; ++i) {
    synchronize(device);
    const auto start = Clock::now();
    iteration(options.warmup + i);
    synchronize(device);
    seconds.push_back(seconds_since(start));
  }
  return seconds;
}

nlohmann::ordered_json model_summary(const ModelConfig& m) {
  nlohmann::ordered_json out{{"family", m.llm.family},
                             {"hidden_size", m.llm.hidden_size},
                             {"num_layers", m.llm.num_layers},
                             {"num_heads", m.llm.num_heads},
                             {"num_kv_heads", m.llm.num_kv_heads},
                             {"intermediate_size", m.llm.intermediate_size},
                             {"vocab_size", m.llm.vocab_size},
                             {"rope_theta", m.llm.rope_theta},
                             {"rms_norm_eps", m.llm.rms_norm_eps},
                             {"tie_word_embeddings", m.llm.tie_word_embeddings},
                             {"attention_bias", m.llm.attention_bias},
                             {"sliding_window", m.llm.sliding_window},
                             {"traversal", m.trol.traversal},
                             {"shared_gate", m.trol.shared_gate},
                             {"vision", m.vision.enabled}};
  if (m.vision.enabled) {
    const auto& v = m.vision;
    out["image_token_id"] = m.resolved_image_token_id();
    out["image_tokens"] = v.tokens_per_image();
    out["vision_config"] = {{"image_size", v.image_size},
                            {"pretrained_image_size", v.pretrained_image_size},
                            {"patch_size", v.patch_size},
                            {"num_channels", v.num_channels},
                            {"hidden_size", v.hidden_size},
                            {"num_layers", v.num_layers},
                            {"num_heads", v.num_heads},
                            {"intermediate_size", v.intermediate_size},
                            {"activation", v.activation},
                            {"layer_norm_eps", v.layer_norm_eps},
                            {"select_layer", v.select_layer},
                            {"drop_class_token", v.drop_class_token},
                            {"downsample_ratio", v.downsample_ratio}};
    out["projector"] = m.projector.type;
  }
  return out;
}

// The first step's inputs, weights, loss and gradients, for scripts/reference/trol_reference.py.
void export_first_step(const std::string& dir, const RunConfig& config, TrolModel& model, const NamedTensors& weights,
                       const Batch& batch, const StepOutcome& outcome, double step_flops,
                       const nlohmann::ordered_json& model_json) {
  std::filesystem::create_directories(dir);
  save_safetensors(dir + "/weights.safetensors", weights);
  NamedTensors grads;
  for (const auto& p : model->named_parameters()) {
    if (p.value().grad().defined()) grads.emplace_back(p.key(), p.value().grad().detach().to(torch::kFloat32));
  }
  save_safetensors(dir + "/grads.safetensors", grads);
  const auto& in = batch.inputs;
  NamedTensors inputs{{"input_ids", in.input_ids}, {"attention_mask", in.attention_mask}, {"labels", in.labels}};
  if (in.pixel_values.defined()) inputs.emplace_back("pixel_values", in.pixel_values.to(torch::kFloat32));
  save_safetensors(dir + "/batch.safetensors", inputs);
  nlohmann::ordered_json step{{"config", config.source}, {"model", model_json}, {"loss", outcome.loss},
                              {"grad_norm", outcome.grad_norm}, {"supervised_tokens", batch.supervised_tokens},
                              {"training_step_flops", step_flops}};
  std::ofstream(dir + "/step.json") << step.dump(2) << "\n";
}

// Mean of a window of positions of the per-position medians.
double window_mean(const std::vector<double>& values, int64_t first, int64_t last) {
  double sum = 0;
  for (int64_t i = first; i <= last; ++i) sum += values[static_cast<size_t>(i)];
  return sum / static_cast<double>(last - first + 1);
}

// Greedy decoding of `new_tokens` after the prompt, `iterations` times: the median time of
// each generated token over the iterations, and, as the baseline, the time of one step
// without a cache at the final length (a forward over the whole sequence).
void bench_decode(TrolModel& model, const ModelInputs& prompt, const BenchOptions& options, torch::Device device,
                  nlohmann::ordered_json& result) {
  const auto mode = parse_decode_mode(options.decode);
  const auto& llm = model->config().llm;
  const int64_t batch = prompt.input_ids.size(0), prompt_len = prompt.input_ids.size(1), n = options.new_tokens;
  torch::Tensor full_embeds, full_mask;  // the last iteration's whole sequence, for the baseline
  auto generate = [&] {
    std::vector<double> token_seconds;
    KvCache cache(llm.num_layers, model->model->cache_passes(mode), batch, llm.num_kv_heads, llm.head_dim(),
                  prompt_len + n, model->model->embed->weight.options());
    auto embeds = model->embed(prompt);
    auto mask = prompt.attention_mask;
    std::vector<torch::Tensor> all_embeds{embeds};
    auto hidden = model->model->forward_cached(embeds, mask, cache, mode).hidden.select(1, -1);
    for (int64_t t = 0; t < n; ++t) {
      synchronize(device);
      const auto start = Clock::now();
      const auto next = model->lm_logits(hidden).argmax(-1).view({batch, 1});
      embeds = model->model->embed(next);
      mask = torch::cat({mask, torch::ones_like(next)}, 1);
      hidden = model->model->forward_cached(embeds, mask, cache, mode).hidden.select(1, -1);
      synchronize(device);
      token_seconds.push_back(seconds_since(start));
      all_embeds.push_back(embeds);
    }
    full_embeds = torch::cat(all_embeds, 1);
    full_mask = mask;
    return token_seconds;
  };
  for (int64_t i = 0; i < options.warmup; ++i) generate();
  std::vector<std::vector<double>> per_token(static_cast<size_t>(n));
  for (int64_t i = 0; i < options.iterations; ++i) {
    const auto seconds = generate();
    for (int64_t t = 0; t < n; ++t) per_token[static_cast<size_t>(t)].push_back(seconds[static_cast<size_t>(t)]);
  }
  std::vector<double> median_per_token;
  for (const auto& s : per_token) median_per_token.push_back(quantile(s, 0.5));

  // Without a cache, the step that makes token n reruns the decoder on prompt + n - 1 tokens.
  const auto recompute_embeds = full_embeds.narrow(1, 0, prompt_len + n - 1);
  const auto recompute_mask = full_mask.narrow(1, 0, prompt_len + n - 1);
  const auto recompute = time_iterations(options, device, [&](int64_t) {
    model->lm_logits(model->model(recompute_embeds, recompute_mask).hidden.select(1, -1)).argmax(-1);
  });

  // Tokens are counted from 1; each window is 16 tokens wide (or the whole generation).
  const int64_t width = std::min<int64_t>(16, n), early_first = std::min<int64_t>(8, n - width);
  const double early = window_mean(median_per_token, early_first, early_first + width - 1);
  const double late = window_mean(median_per_token, n - width, n - 1);
  result["decode"] = decode_mode_name(mode);
  result["batch_size"] = batch;
  result["prompt_len"] = prompt_len;
  result["new_tokens"] = n;
  result["iterations"] = options.iterations;
  result["token_seconds_median"] = median_per_token;
  result["token_seconds_early"] = early;   // tokens 9..24: "per-token time at token 16"
  result["token_seconds_late"] = late;     // the last 16 tokens
  result["late_over_early"] = late / early;
  result["recompute_seconds"] = spread(recompute);
  result["speedup_over_recompute"] = quantile(recompute, 0.5) / late;
  result["tokens_per_second"] = static_cast<double>(batch) / late;
}

}  // namespace

double measure_matmul_peak(int64_t n, torch::Device device, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  auto c = torch::empty({n, n}, options);
  torch::mm_out(c, a, b);  // warm-up: thread pools, page faults
  synchronize(device);
  double best = 0;
  for (int i = 0; i < 10; ++i) {  // best of 10: the peak, not a typical product
    const auto start = Clock::now();
    torch::mm_out(c, a, b);
    synchronize(device);
    best = std::max(best, 2.0 * static_cast<double>(n) * n * n / seconds_since(start));
  }
  return best;
}

nlohmann::ordered_json run_bench(const RunConfig& config, const BenchOptions& options) {
  const std::vector<std::string> kinds{"train", "prefill", "decode", "data"};
  if (std::find(kinds.begin(), kinds.end(), options.what) == kinds.end()) {
    throw std::invalid_argument("bench: unknown --what '" + options.what + "' (train, prefill, decode or data)");
  }
  if (options.iterations < 1 || options.warmup < 0 || options.batch_size < 1 || options.seq_len < 0 ||
      options.new_tokens < 1) {
    throw std::invalid_argument(
        "bench: --iterations, --batch-size and --new-tokens must be at least 1, --warmup and --seq-len not negative");
  }
  const auto device = parse_device(config.runtime.device);
  const auto dtype = parse_dtype(config.runtime.dtype);
  const int64_t seq_len = options.seq_len > 0 ? options.seq_len : config.data.max_length;
  const int64_t images_per_row = config.model.vision.enabled ? 1 : 0;
  const int64_t image_tokens = images_per_row > 0 ? config.model.vision.tokens_per_image() : 0;
  if (options.what != "data" && seq_len <= image_tokens + 1) {
    throw std::invalid_argument("bench: --seq-len " + std::to_string(seq_len) + " leaves no text after the " +
                                std::to_string(image_tokens) + " image tokens");
  }

  nlohmann::ordered_json result{{"what", options.what},
                                {"config", config.source},
                                {"device", device.str()},
                                {"dtype", config.runtime.dtype},
                                {"intra_op_threads", torch::get_num_threads()},
                                {"model", model_summary(config.model)}};

  if (options.what == "data") {
    if (config.train.stages.empty()) throw std::invalid_argument("bench --what data: the config has no training stage to read datasets from");
    const auto& stage = config.train.stages.front();
    auto set = build_training_set(config.data, stage.datasets, config.model);
    auto loader_options = stage_loader_options(config, stage, set.pad_id, static_cast<uint64_t>(config.runtime.seed));
    loader_options.batch_size = options.batch_size;
    BatchLoader loader(std::move(set.samples), loader_options);
    // The warm-up also drains the batches prefetched before the clock starts, so the timed
    // ones measure the rate the worker makes them at.
    auto data_options = options;
    data_options.warmup += loader_options.prefetch;
    int64_t tokens = 0;
    const auto seconds = time_iterations(data_options, torch::kCPU, [&](int64_t i) {
      const auto batch = loader.next();
      if (i >= data_options.warmup) tokens += batch.tokens;
    });
    double total = 0;
    for (double s : seconds) total += s;
    result["stage"] = stage.name;
    result["batch_size"] = options.batch_size;
    result["iterations"] = options.iterations;
    result["batch_seconds"] = spread(seconds);
    result["batches_per_second"] = static_cast<double>(seconds.size()) / total;
    result["tokens_per_second"] = static_cast<double>(tokens) / total;
    result["peak_rss_bytes"] = peak_rss_bytes();
    return result;
  }

  torch::manual_seed(static_cast<uint64_t>(config.runtime.seed));
  TrolModel model(config.model);
  model->to(device, dtype);
  model->model->set_activation_checkpointing(config.train.activation_checkpointing);
  result["activation_checkpointing"] = config.train.activation_checkpointing;
  // What step 2 of the paper trains: everything but the vision encoder; with adapters
  // (model.lora), the adapters instead of the decoder's weights.
  std::map<std::string, bool> trainable{{"vision", false}, {"projector", true}, {"mixer", true}, {"llm", true}};
  if (config.model.lora.rank > 0) {
    trainable["llm"] = false;
    trainable["lora"] = true;
  }
  ParameterGroups().set_trainable(*model, trainable);

  SyntheticBatchShape shape;
  shape.batch_size = options.batch_size;
  shape.seq_len = seq_len;
  shape.images_per_sample = images_per_row;
  shape.vary_lengths = false;
  Batch batch;
  batch.inputs = synthetic_batch(config.model, shape, static_cast<uint64_t>(config.runtime.seed));
  batch.tokens = options.batch_size * seq_len;
  batch.supervised_tokens = batch.inputs.labels.narrow(1, 1, seq_len - 1).ne(kIgnoreIndex).sum().item<int64_t>();
  const int64_t images = options.batch_size * images_per_row;

  double step_flops = 0;
  std::vector<double> seconds;
  if (options.what == "train") {
    StageConfig stage;  // AdamW with the trainer's defaults
    stage.weight_decay = 0.01;
    stage.trainable = trainable;
    auto optimizer = make_optimizer(*model, stage);
    optimizer.set_learning_rate(1e-4);
    const auto params = trainable_parameters(*model);
    NamedTensors initial_weights;  // for the export: the weights the first step starts from
    if (!options.export_dir.empty()) {
      for (const auto& p : model->named_parameters()) initial_weights.emplace_back(p.key(), p.value().detach().clone());
    }
    step_flops = training_step_flops(config.model, options.batch_size, seq_len, images, trainable);
    model->train();
    const std::vector<Batch> micro{batch};
    StepOptions step_options;
    step_options.max_grad_norm = stage.max_grad_norm;
    step_options.device = device;
    step_options.dtype = dtype;
    step_options.autocast = mixed_precision_dtype(config.runtime);
    LossScaler loss_scaler;
    if (step_options.autocast == torch::kFloat16) step_options.loss_scaler = &loss_scaler;
    result["mixed_precision"] = config.runtime.mixed_precision;
    std::vector<double> losses;
    seconds = time_iterations(options, device, [&](int64_t i) {
      const auto outcome = training_step(model, *optimizer.adamw, params, micro, step_options);
      losses.push_back(outcome.loss);
      if (i == 0 && !options.export_dir.empty()) {
        export_first_step(options.export_dir, config, model, initial_weights, batch, outcome, step_flops, result["model"]);
      }
    });
    result["first_loss"] = losses.front();
    result["last_loss"] = losses.back();
  } else if (options.what == "decode") {
    model->eval();
    torch::NoGradGuard no_grad;
    bench_decode(model, to_device(batch.inputs, device, dtype), options, device, result);
    if (device.is_cpu()) result["peak_rss_bytes"] = peak_rss_bytes();
    return result;
  } else {
    model->eval();
    torch::NoGradGuard no_grad;
    const auto inputs = to_device(batch.inputs, device, dtype);
    seconds = time_iterations(options, device, [&](int64_t) { model(inputs); });
    step_flops = forward_pass_flops(config.model, options.batch_size, seq_len, images);
  }

  const double median = quantile(seconds, 0.5);
  const double tokens = static_cast<double>(options.batch_size * seq_len);
  result["batch_size"] = options.batch_size;
  result["seq_len"] = seq_len;
  result["tokens_per_step"] = tokens;
  result["iterations"] = options.iterations;
  result["step_seconds"] = spread(seconds);
  result["tokens_per_second"] = tokens / median;
  result["flops_per_token"] = step_flops / tokens;
  result["flops_per_step"] = step_flops;
  result["achieved_flops"] = step_flops / median;
  if (options.peak_size > 0) {
    const auto peak_dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
    const double peak = measure_matmul_peak(options.peak_size, device, peak_dtype);
    result["peak_flops"] = peak;
    result["peak_dtype"] = device.is_cuda() ? "bfloat16" : "float32";
    result["mfu"] = step_flops / median / peak;
  }
  if (device.is_cpu()) result["peak_rss_bytes"] = peak_rss_bytes();
  return result;
}

void log_bench_summary(const nlohmann::ordered_json& r) {
  const auto what = r["what"].get<std::string>();
  if (what == "data") {
    const auto& s = r["batch_seconds"];
    spdlog::info("bench data: {:.1f} batches/s of {} ({:.0f} tokens/s); batch wait median {:.2f} ms (p10 {:.2f}, p90 {:.2f})",
                 r["batches_per_second"].get<double>(), r["batch_size"].get<int64_t>(), r["tokens_per_second"].get<double>(),
                 1e3 * s["median"].get<double>(), 1e3 * s["p10"].get<double>(), 1e3 * s["p90"].get<double>());
    return;
  }
  if (what == "decode") {
    spdlog::info("bench decode ({}): {} x {} prompt tokens, then {} new tokens: {:.2f} ms per token near token 16, "
                 "{:.2f} ms near token {} ({:.2f}x), {:.0f} tokens/s",
                 r["decode"].get<std::string>(), r["batch_size"].get<int64_t>(), r["prompt_len"].get<int64_t>(),
                 r["new_tokens"].get<int64_t>(), 1e3 * r["token_seconds_early"].get<double>(),
                 1e3 * r["token_seconds_late"].get<double>(), r["new_tokens"].get<int64_t>(),
                 r["late_over_early"].get<double>(), r["tokens_per_second"].get<double>());
    spdlog::info("bench decode: recomputing the whole sequence instead takes {:.2f} ms per token there: the cache is {:.1f}x faster",
                 1e3 * r["recompute_seconds"]["median"].get<double>(), r["speedup_over_recompute"].get<double>());
    return;
  }
  const auto& s = r["step_seconds"];
  spdlog::info("bench {}: {} x {} tokens, step median {:.1f} ms (p10 {:.1f}, p90 {:.1f}), {:.0f} tokens/s", what,
               r["batch_size"].get<int64_t>(), r["seq_len"].get<int64_t>(), 1e3 * s["median"].get<double>(),
               1e3 * s["p10"].get<double>(), 1e3 * s["p90"].get<double>(), r["tokens_per_second"].get<double>());
  std::string line = fmt::format("bench {}: {:.1f} MFLOP/token, achieved {}", what, r["flops_per_token"].get<double>() / 1e6,
                                 gflops_text(r["achieved_flops"]));
  if (r.contains("mfu")) {
    line += fmt::format(", peak ({} matrix product) {}, MFU {:.3f}", r["peak_dtype"].get<std::string>(),
                        gflops_text(r["peak_flops"]), r["mfu"].get<double>());
  }
  if (r.contains("peak_rss_bytes")) line += fmt::format(", peak RSS {:.0f} MiB", r["peak_rss_bytes"].get<double>() / (1 << 20));
  spdlog::info("{}", line);
}

}  // namespace trol
