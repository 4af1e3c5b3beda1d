#include "train/trainer.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "data/batch_loader.h"
#include "data/training_set.h"
#include "train/checkpoint.h"
#include "train/distributed/gradient_buckets.h"
#include "train/distributed/process_group.h"
#include "train/distributed/zero1.h"
#include "train/fault_injection.h"
#include "train/optimizer.h"
#include "train/periodic_eval.h"
#include "train/progress.h"
#include "train/stop_signal.h"
#include "train/tensorboard.h"
#include "train/train_step.h"
#include "trol/config_reader.h"
#include "trol/generator_state.h"
#include "trol/param_groups.h"

namespace trol {
namespace {

// The keys (as dotted paths) whose values differ between two YAML trees.
void yaml_differences(const YAML::Node& a, const YAML::Node& b, const std::string& path, std::vector<std::string>& out) {
  if (a.IsMap() && b.IsMap()) {
    std::set<std::string> keys;
    for (const auto& kv : a) keys.insert(kv.first.as<std::string>());
    for (const auto& kv : b) keys.insert(kv.first.as<std::string>());
    for (const auto& key : keys) yaml_differences(a[key], b[key], path + "." + key, out);
    return;
  }
  if (a.IsSequence() && b.IsSequence() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i) yaml_differences(a[i], b[i], path + "[" + std::to_string(i) + "]", out);
    return;
  }
  const auto text = [](const YAML::Node& n) { return n.IsDefined() && !n.IsNull() ? YAML::Dump(n) : std::string("(unset)"); };
  if (text(a) != text(b)) out.push_back(path + ": " + text(a) + " in the checkpoint, " + text(b) + " now");
}

// A fresh run (not resumed) in a folder that holds an earlier run's checkpoints, logs or
// results moves them to previous/<time>/: the new run neither overwrites nor deletes them
// (checkpoint retention would), and its curves do not continue the old ones. (A resumed run
// appends to the logs: its steps after the checkpoint repeat the killed run's, same values.)
const std::vector<std::string>& previous_run_files() {
  static const std::vector<std::string> files{"checkpoints", "metrics.jsonl", "tensorboard", "results.json",
                                              "eval",        "metrics",       "report.md"};
  return files;
}

// A stage started from the checkpoint of an earlier run in the same folder (a stage-2 config
// reusing stage 1's output_dir) would set aside the weights it starts from: it could start, but
// never resume, since a resumed run rebuilds what its checkpoints do not hold from
// train.init_from. Refused before anything moves, on every rank.
void check_init_from_outside_previous_run(const std::string& output_dir, const std::string& init_from) {
  namespace fs = std::filesystem;
  if (init_from.empty()) return;
  const auto weights = fs::weakly_canonical(init_from);
  for (const auto& file : previous_run_files()) {
    const auto moved = fs::weakly_canonical(output_dir + "/" + file);
    if (!fs::exists(moved)) continue;
    if (std::mismatch(moved.begin(), moved.end(), weights.begin(), weights.end()).first == moved.end()) {
      throw ConfigError(fmt::format(
          "train.init_from: {} is inside {}, which this fresh run in train.output_dir {} would move to previous/ "
          "(and a resumed run reads train.init_from again): give this run its own train.output_dir",
          init_from, moved.string(), output_dir));
    }
  }
}

void set_aside_previous_run(const std::string& output_dir) {
  namespace fs = std::filesystem;
  const auto& logs = previous_run_files();
  const bool any = std::any_of(logs.begin(), logs.end(), [&](const auto& l) { return fs::exists(output_dir + "/" + l); });
  if (!any) return;
  const auto stamp = fmt::format("{:%Y%m%d-%H%M%S}", fmt::gmtime(std::time(nullptr)));
  auto folder = output_dir + "/previous/" + stamp;
  for (int n = 2; fs::exists(folder); ++n) folder = output_dir + "/previous/" + stamp + "-" + std::to_string(n);
  fs::create_directories(folder);
  for (const auto& l : logs) {
    if (fs::exists(output_dir + "/" + l)) fs::rename(output_dir + "/" + l, folder + "/" + l);
  }
  spdlog::warn("{} held an earlier run (not resumed: train.resume is not set); its files are now in {}", output_dir,
               folder);
}

// A checkpoint continues this run only if the run has the same stages up to the checkpoint's,
// and the same model and everything the weights it does not hold are rebuilt from (the seed
// and train.init_from). Throws ConfigError naming what differs.
void check_resumable(const std::string& folder, const TrainingState& state, const RunConfig& config) {
  const auto index = static_cast<size_t>(state.stage_index);
  std::vector<std::string> names;
  for (const auto& stage : config.train.stages) names.push_back(stage.name);
  if (index >= names.size() || index >= state.stage_names.size() ||
      !std::equal(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(index) + 1, state.stage_names.begin())) {
    throw ConfigError(fmt::format("train.resume: {} was written by a run with stages [{}]; this run has [{}]", folder,
                                  fmt::join(state.stage_names, ", "), fmt::join(names, ", ")));
  }
  const auto saved = YAML::LoadFile(folder + "/config.yaml"), now = YAML::Load(config.effective_yaml);
  std::vector<std::string> differences;
  yaml_differences(saved["model"], now["model"], "model", differences);
  const auto saved_run = load_run_config(folder + "/config.yaml");
  if (saved_run.runtime.seed != config.runtime.seed) {
    differences.push_back(fmt::format("runtime.seed: {} in the checkpoint, {} now", saved_run.runtime.seed, config.runtime.seed));
  }
  if (saved_run.train.init_from != config.train.init_from) {
    differences.push_back(fmt::format("train.init_from: '{}' in the checkpoint, '{}' now", saved_run.train.init_from,
                                      config.train.init_from));
  }
  if (!differences.empty()) {
    throw ConfigError(fmt::format("train.resume: {} was written for another model or initialisation:\n  {}", folder,
                                  fmt::join(differences, "\n  ")));
  }
}

}  // namespace

BatchLoaderOptions stage_loader_options(const RunConfig& config, const StageConfig& stage, int64_t pad_id, uint64_t seed) {
  BatchLoaderOptions options;
  options.batch_size = stage.batch_size;
  options.seed = seed;
  options.group_by_length = stage.group_by_length;
  options.pad_id = pad_id;
  options.prefetch = config.data.prefetch_batches;
  options.skip_bad_images = config.data.on_error == "skip";
  options.image_size = config.model.vision.image_size;
  options.mean = config.data.image_mean;
  options.std = config.data.image_std;
  options.tiling = config.data.tiling;
  options.pin_memory = parse_device(config.runtime.device).is_cuda();
  return options;
}

Trainer::Trainer(RunConfig config, std::shared_ptr<ProcessGroup> group)
    : config_(std::move(config)),
      device_(parse_device(config_.runtime.device)),
      dtype_(parse_dtype(config_.runtime.dtype)),
      group_(group && group->world_size() > 1 ? std::move(group) : nullptr) {
  torch::manual_seed(static_cast<uint64_t>(config_.runtime.seed));
  model_ = TrolModel(config_.model);
  if (!config_.train.init_from.empty()) {
    load_model_weights(config_.train.init_from, *model_);
    spdlog::info("weights from {}", config_.train.init_from);
  }
  model_->to(device_, dtype_);
  if (group_) {
    // Every rank built the same weights from the same seed and file; rank 0's are sent all
    // the same, trainable and frozen, parameters and buffers: one truth for every rank.
    std::vector<torch::Tensor> state;
    for (const auto& p : model_->parameters()) state.push_back(p);
    for (const auto& b : model_->buffers()) state.push_back(b);
    group_->broadcast_from_rank0(state, "initial weights from rank 0");
    // Each rank draws its own random numbers (adapter dropout) from here on; rank 0 keeps the
    // stream a single process would have.
    if (group_->rank() > 0) {
      torch::manual_seed(static_cast<uint64_t>(config_.runtime.seed) + 1000003ULL * static_cast<uint64_t>(group_->rank()));
    }
  }
  model_->model->set_activation_checkpointing(config_.train.activation_checkpointing);
  if (mixed_precision_dtype(config_.runtime) == torch::kFloat16) loss_scaler_.emplace();
}

Trainer::~Trainer() = default;

bool Trainer::main_rank() const { return !group_ || group_->rank() == 0; }

int64_t Trainer::steps_before(size_t stage_index) const {
  int64_t steps = 0;
  for (size_t i = 0; i < stage_index; ++i) steps += config_.train.stages[i].steps;
  return steps;
}

std::string Trainer::resume_folder() const {
  const auto& resume = config_.train.resume;
  if (resume.empty()) return "";
  if (resume != "auto") return resume;
  const auto checkpoints = config_.train.output_dir + "/checkpoints";
  const auto latest = find_latest_checkpoint(checkpoints);
  if (!latest) spdlog::info("train.resume=auto: no complete checkpoint in {}, starting afresh", checkpoints);
  return latest.value_or("");
}

std::vector<StageResult> Trainer::train() {
  std::optional<TrainingState> resume;
  const auto folder = resume_folder();
  if (!folder.empty()) {
    try {
      resume = read_training_checkpoint(folder);
    } catch (const std::exception& e) {
      throw ConfigError(std::string("train.resume: ") + e.what());
    }
    check_resumable(folder, *resume, config_);
    spdlog::info("resuming from {}: stage '{}', step {} of {} (step {} overall)", folder, resume->stage.name,
                 resume->stage_step, config_.train.stages[static_cast<size_t>(resume->stage_index)].steps,
                 resume->global_step);
    completed_ = resume->completed;
  } else {
    check_init_from_outside_previous_run(config_.train.output_dir, config_.train.init_from);
    if (main_rank()) set_aside_previous_run(config_.train.output_dir);
  }
  if (group_) group_->barrier("start of training");

  StopSignals stop;
  stop_ = &stop;
  std::vector<StageResult> results = completed_;
  for (size_t i = results.size(); i < config_.train.stages.size() && !stopped_; ++i) {
    if (stop.requested()) {  // arrived during the last step of the stage before, which saved it
      spdlog::warn("{}: stopped before stage '{}'. Continue with train.resume=auto", stop.name(), config_.train.stages[i].name);
      stopped_ = true;
      break;
    }
    const bool resumes_here = resume && static_cast<size_t>(resume->stage_index) == i;
    results.push_back(run_stage(i, resumes_here ? resume : std::nullopt, resumes_here ? folder : ""));
  }
  stop_ = nullptr;
  if (group_) group_->barrier("end of training");
  return results;
}

std::string Trainer::save_checkpoint(const TrainingState& state, StageOptimizer& optimizer) {
  // Data parallel: every rank holds the same weights and optimizer state; rank 0 writes them.
  // The ranks meet before (all are done with the step) and after (none goes on, or exits,
  // before the checkpoint is complete).
  const auto checkpoints = config_.train.output_dir + "/checkpoints";
  if (group_) group_->barrier(fmt::format("before checkpoint step-{}", state.global_step));
  std::string folder = checkpoints + "/step-" + std::to_string(state.global_step);
  // Each rank's own random streams (adapter dropout) go into the checkpoint too, so a run
  // resumed on as many ranks draws what the uninterrupted one would have.
  std::vector<std::pair<std::string, torch::Tensor>> rank_generators;
  if (group_) {
    auto gather = [&](const std::string& kind, const torch::Tensor& own) {
      const auto states = group_->all_gather(own, kind + " generator states");
      for (size_t r = 1; r < states.size(); ++r) rank_generators.emplace_back(kind + ".rank" + std::to_string(r), states[r]);
    };
    gather("cpu", generator_state(torch::kCPU));
    if (device_.is_cuda()) gather("cuda", generator_state(device_));
    rank_generators.emplace_back("world_size", torch::tensor(group_->world_size(), torch::kInt64));
  }
  if (zero1_) zero1_->gather_optimizer_state(*optimizer.adamw);
  if (main_rank()) {
    CheckpointContents contents{&state, &*model_, &trained_, optimizer.adamw.get(), config_.effective_yaml};
    contents.rank_generator_states = std::move(rank_generators);
    folder = write_training_checkpoint(checkpoints, contents, config_.train.keep_checkpoints);
    if (zero1_) zero1_->release_foreign_state(*optimizer.adamw);
  }
  if (group_) group_->barrier(fmt::format("after checkpoint step-{}", state.global_step));
  spdlog::debug("checkpoint {}", folder);
  return folder;
}

StageResult Trainer::run_stage(size_t index, const std::optional<TrainingState>& resume, const std::string& resume_folder) {
  const auto& stage = config_.train.stages.at(index);
  const auto& data = config_.data;
  if (config_.model.quantize != "none" && stage.trainable.count("llm") != 0 && stage.trainable.at("llm")) {
    throw ConfigError(fmt::format("train.stages[{}].trainable.llm: the decoder's weights are stored quantized "
                                  "(model.quantize: {}) and cannot train; train adapters (lora: true) instead",
                                  index, config_.model.quantize));
  }
  ParameterGroups().set_trainable(*model_, stage.trainable);
  for (const auto& p : model_->named_parameters()) {
    if (p.value().requires_grad()) trained_.insert(p.key());
  }

  const auto training_set = build_training_set(data, stage.datasets, config_.model);
  auto loader_options =
      stage_loader_options(config_, stage, training_set.pad_id, static_cast<uint64_t>(config_.runtime.seed) + index);

  auto optimizer = make_optimizer(*model_, stage);
  TrainingState state;
  state.stage_index = static_cast<int64_t>(index);
  for (const auto& s : config_.train.stages) state.stage_names.push_back(s.name);
  state.completed = completed_;
  state.stage.name = stage.name;
  if (resume) {
    // The parameters the checkpoint holds were trained by earlier steps; later checkpoints
    // keep saving them.
    for (const auto& name : restore_training_checkpoint(resume_folder, *model_, *optimizer.adamw)) trained_.insert(name);
    state.stage = resume->stage;
    state.stage_step = resume->stage_step;
    state.loader_position = resume->loader_position;
    state.bad_steps_in_a_row = resume->bad_steps_in_a_row;
    state.loss_scaler = resume->loss_scaler;
    if (loss_scaler_) loss_scaler_ = LossScaler(resume->loss_scaler);
    // Rank 0's generator states are the checkpoint's plain ones; the others' are there too when
    // it was written by as many ranks. On another number of ranks they continue with streams
    // derived from the step (dropout masks then differ from an uninterrupted run's).
    if (group_ && group_->rank() > 0 &&
        !restore_rank_generator_states(resume_folder, group_->rank(), group_->world_size(), device_)) {
      torch::manual_seed(static_cast<uint64_t>(config_.runtime.seed) + 1000003ULL * static_cast<uint64_t>(group_->rank()) +
                         7919ULL * static_cast<uint64_t>(resume->global_step));
    }
  }
  state.global_step = steps_before(index) + state.stage_step;
  loader_options.start_position = state.loader_position;
  if (group_) {
    loader_options.shard_rank = group_->rank();
    loader_options.shard_count = group_->world_size();
  }
  BatchLoader loader(training_set.samples, loader_options);

  const auto trainable = trainable_parameters(*model_);
  int64_t trainable_count = 0;
  for (const auto& p : trainable) trainable_count += p.numel();
  spdlog::info("stage '{}': {} samples, {} steps x {} x {} samples, {} trainable parameters", stage.name,
               training_set.samples.size(), stage.steps, stage.grad_accum, stage.batch_size, trainable_count);
  std::unique_ptr<GradientBuckets> buckets;
  zero1_.reset();
  if (group_) {
    const auto cap = static_cast<int64_t>(config_.distributed.bucket_cap_mb * (1 << 20));
    buckets = std::make_unique<GradientBuckets>(trainable, cap, group_);
    if (config_.distributed.zero1) {
      zero1_ = std::make_unique<Zero1Shards>(trainable, group_);
      zero1_->release_foreign_state(*optimizer.adamw);  // a restored checkpoint holds all of it
      spdlog::info("stage '{}': ZeRO-1: this rank keeps the AdamW state of {} of the {} trainable parameters", stage.name,
                   zero1_->owned_elements(), zero1_->total_elements());
    }
    spdlog::info("stage '{}': data parallel over {} ranks ({}): each takes about {} of the {} samples of a micro-batch; "
                 "{} gradient buckets, {:.2f} MB summed per step",
                 stage.name, group_->world_size(), group_->backend_name(),
                 (stage.batch_size + group_->world_size() - 1) / group_->world_size(), stage.batch_size,
                 buckets->bucket_count(), buckets->bytes_per_sync() / 1e6);
  }

  // Rank 0 alone writes the logs (every number in them is of the global batch).
  std::optional<MetricsLog> metrics;
  if (main_rank()) metrics.emplace(config_.train.output_dir + "/metrics.jsonl");
  if (!tensorboard_ && main_rank()) tensorboard_ = std::make_unique<TensorBoardWriter>(config_.train.output_dir + "/tensorboard");
  ProgressLine progress(stage.name, stage.steps);
  model_->train();
  const auto stage_start = std::chrono::steady_clock::now();
  const double seconds_before = state.stage.seconds;
  auto window_start = stage_start;
  int64_t window_tokens = 0;
  std::string last_saved;
  StepOptions step_options;  // the same for every step of the stage but for collect_gate_means
  step_options.max_grad_norm = stage.max_grad_norm;
  step_options.device = device_;
  step_options.dtype = dtype_;
  step_options.autocast = mixed_precision_dtype(config_.runtime);
  step_options.loss_scaler = loss_scaler_ ? &*loss_scaler_ : nullptr;
  // Runs inside training_step, before state.global_step counts the step.
  step_options.before_update = [&] {
    fault_point("mid_step", state.global_step + 1);
    if (zero1_) zero1_->drop_foreign_gradients();
  };
  if (zero1_) step_options.after_update = [&] { zero1_->share_updated_parameters(); };
  step_options.max_length = config_.data.max_length;
  step_options.group = group_.get();
  step_options.buckets = buckets.get();
  while (state.stage_step < stage.steps) {
    const int64_t step = state.stage_step;
    const double lr = learning_rate_at(stage, step);
    optimizer.set_learning_rate(lr);
    std::vector<Batch> micro;
    for (int64_t m = 0; m < stage.grad_accum; ++m) micro.push_back(loader.next());
    const int64_t global_step = state.global_step + 1;
    const bool log_now = (step + 1) % config_.train.log_every == 0 || step + 1 == stage.steps;
    step_options.collect_gate_means = log_now;
    const auto outcome = training_step(model_, *optimizer.adamw, trainable, micro, step_options);
    state.stage_step = step + 1;
    state.global_step = global_step;
    state.loader_position = micro.back().sampler_position;
    state.stage.tokens += outcome.tokens;
    window_tokens += outcome.tokens;
    if (loss_scaler_) state.loss_scaler = loss_scaler_->state();
    if (outcome.overflowed) {
      spdlog::info("stage '{}' step {}: float16 gradients overflowed; step skipped, loss scale now {}", stage.name,
                   step + 1, loss_scaler_->scale());
    } else if (!outcome.applied) {
      std::string ids;
      for (const auto& b : micro)
        for (const auto& id : b.sample_ids) ids += (ids.empty() ? "" : ", ") + id;
      spdlog::warn("stage '{}' step {}: non-finite loss or gradient, step skipped (samples: {})", stage.name, step + 1, ids);
      if (++state.bad_steps_in_a_row >= config_.train.max_bad_steps) {
        throw std::runtime_error(fmt::format(
            "stage '{}': {} steps in a row with a non-finite loss or gradient (train.max_bad_steps); stopping at step {}. "
            "The last checkpoint is in {}/checkpoints",
            stage.name, state.bad_steps_in_a_row, step + 1, config_.train.output_dir));
      }
    } else {
      state.bad_steps_in_a_row = 0;
      state.stage.losses.push_back(outcome.loss);
      if (log_now) {
        const auto now = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(now - window_start).count();
        const double tokens_per_second = seconds > 0 ? window_tokens / seconds : 0;
        // The slowest rank's wait for data (every rank waits for it at the next collective).
        double data_wait = loader.seconds_waited();
        if (group_) {
          const auto waits = group_->all_gather(torch::tensor({data_wait}, torch::kFloat64), "data wait metric");
          for (const auto& w : waits) data_wait = std::max(data_wait, w.item<double>());
        }
        if (main_rank()) {
          progress.update(step + 1, outcome.loss, lr, tokens_per_second);
          nlohmann::json row{{"stage", stage.name},       {"step", step + 1},
                             {"global_step", global_step}, {"loss", outcome.loss},
                             {"lr", lr},                   {"grad_norm", outcome.grad_norm},
                             {"tokens_per_second", tokens_per_second}, {"data_wait_seconds", data_wait}};
          if (!outcome.gate_means.empty()) row["gate_mean"] = outcome.gate_means;
          if (group_) row["ranks"] = group_->world_size();
          metrics->record(row);
          auto& tensorboard = *tensorboard_;
          tensorboard.add_scalar("train/loss", outcome.loss, global_step);
          tensorboard.add_scalar("train/lr", lr, global_step);
          tensorboard.add_scalar("train/grad_norm", outcome.grad_norm, global_step);
          tensorboard.add_scalar("train/tokens_per_second", tokens_per_second, global_step);
          for (size_t layer = 0; layer < outcome.gate_means.size(); ++layer) {
            tensorboard.add_scalar(fmt::format("gate_mean/layer_{:02d}", layer), outcome.gate_means[layer], global_step);
          }
          tensorboard.flush();
        }
        window_start = now;
        window_tokens = 0;
      }
    }
    fault_point("after_step", global_step);
    state.stage.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_start).count();
    const bool periodic = config_.train.save_every > 0 && global_step % config_.train.save_every == 0;
    const bool saves = periodic || state.stage_step == stage.steps;
    if (saves) last_saved = save_checkpoint(state, optimizer);
    if (config_.eval.every_steps > 0 && global_step % config_.eval.every_steps == 0) {
      const auto eval_start = std::chrono::steady_clock::now();
      evaluate_during_training(model_, config_, group_.get(), global_step, metrics ? &*metrics : nullptr, tensorboard_.get());
      window_start += std::chrono::steady_clock::now() - eval_start;  // tokens/s counts training time only
    }
    // A signal reaches the ranks at slightly different moments: they agree to stop after the
    // same step (one stopping alone would leave the others waiting in a collective).
    bool stop_now = stop_ != nullptr && stop_->requested();
    if (group_) stop_now = group_->any(stop_now, "stop-signal agreement");
    if (stop_now && state.stage_step < stage.steps) {
      if (!saves) last_saved = save_checkpoint(state, optimizer);
      progress.finish();
      spdlog::warn("{}: stopped after step {} of stage '{}'; checkpoint {}. Continue with train.resume=auto",
                   stop_->requested() ? stop_->name() : "a stop signal on another rank", state.stage_step, stage.name,
                   last_saved);
      stopped_ = true;
      return state.stage;
    }
  }
  progress.finish();

  auto result = state.stage;
  const auto folder = config_.train.output_dir + "/checkpoints/" + stage.name;
  nlohmann::json stage_state{{"stage", stage.name},
                             {"stage_index", index},
                             {"steps", stage.steps},
                             {"final_loss", result.losses.empty() ? 0.0 : result.losses.back()},
                             {"seconds", result.seconds},
                             {"trol_version", TROL_VERSION}};
  result.checkpoint = folder;
  if (main_rank()) result.checkpoint = save_stage_checkpoint(folder, *model_, config_.effective_yaml, stage_state);
  if (group_) group_->barrier("after the stage checkpoint of '" + stage.name + "'");
  completed_.push_back(result);
  spdlog::info("stage '{}' done in {:.0f}s, loss {:.4f}; checkpoint {}", stage.name, result.seconds,
               result.losses.empty() ? 0.0 : result.losses.back(), folder);
  return result;
}

}  // namespace trol
