#include "eval/suite_evaluation.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "data/chat_template.h"
#include "data/training_set.h"
#include "eval/benchmarks/registry.h"

namespace trol {

namespace {

using nlohmann::ordered_json;
constexpr auto kReplaceBadUtf8 = nlohmann::json::error_handler_t::replace;

// What generating for one benchmark needs besides the items.
struct Generation {
  TrolModel& model;
  const DataConfig& data;
  const Tokenizer& tokenizer;
  const ChatTemplate& chat;
  GenerateOptions options;
  int64_t per_image;
  int64_t image_size;
  int64_t batch_size;
};

// What asking a model needs besides the items: its tokenizer and chat template, checked
// against the model once.
struct Asking {
  TrolModel& model;
  const DataConfig& data;
  Tokenizer tokenizer;
  ChatTemplate chat;
  Asking(TrolModel& model_, const DataConfig& data_)
      : model(model_), data(data_), tokenizer(load_tokenizer(data_)), chat(chat_template(data_.template_name)) {
    check_tokenizer_matches_model(tokenizer, data, model->config());
  }
  Generation generation(const EvalOptions& options) const {
    const auto& config = model->config();
    return {model, data, tokenizer, chat, generate_options(options), config.vision.tokens_per_image(),
            config.vision.image_size, options.batch_size};
  }
};

// The items of `suite` an evaluation asks: the first eval.limit (all when 0).
struct LimitedItems {
  std::vector<BenchmarkItem> items;
  size_t left_out = 0;  // items of the data past the limit
};

LimitedItems limited_items(const EvalSuite& suite, const EvalOptions& options) {
  LimitedItems limited{read_benchmark_items(suite.source), 0};
  if (options.limit > 0 && static_cast<int64_t>(limited.items.size()) > options.limit) {
    limited.left_out = limited.items.size() - static_cast<size_t>(options.limit);
    limited.items.resize(static_cast<size_t>(options.limit));
  }
  return limited;
}

// The prompts and images of items [first, last): those whose images load, with their item
// indices; the others' failures by item index.
struct Batch {
  std::vector<std::vector<int64_t>> prompts;
  torch::Tensor pixels;  // every prompt's images in order, on the model's device; undefined: text only
  std::vector<size_t> indices;
  std::vector<std::pair<size_t, std::string>> image_errors;
};

Batch prepare_batch(const Generation& g, const std::vector<BenchmarkItem>& items, size_t first, size_t last,
                    const std::string& name) {
  Batch batch;
  std::vector<torch::Tensor> images;
  for (size_t i = first; i < last; ++i) {
    const auto& item = items[i];
    std::vector<torch::Tensor> pixels;
    std::vector<int64_t> image_tokens;
    try {
      for (size_t k = 0; k < item.images.size(); ++k) {
        const auto which = item.images.size() > 1 ? " image " + std::to_string(k + 1) : "";
        pixels.push_back(eval_image(item.images[k].path, item.images[k].bytes, name + " item " + item.key + which, g.data,
                                    g.image_size));
        image_tokens.push_back(pixels.back().size(0) * g.per_image);
      }
    } catch (const std::exception& e) {
      batch.image_errors.emplace_back(i, e.what());
      continue;
    }
    batch.prompts.push_back(encode_user_turn(name + ":" + item.key, user_turn(item), image_tokens, g.tokenizer, g.chat));
    images.insert(images.end(), pixels.begin(), pixels.end());
    batch.indices.push_back(i);
  }
  if (!images.empty()) {
    const auto weights = g.model->parameters().front();
    batch.pixels = torch::cat(images).to(weights.device(), weights.scalar_type());
  }
  return batch;
}

// This rank's share of `items`: {"answers": [[index, text]...], "image_errors": [[index, message]...]}.
ordered_json generate_share(const Generation& g, const std::vector<BenchmarkItem>& items, const EvalRanks& ranks,
                            const std::string& name) {
  ordered_json answers = ordered_json::array(), errors = ordered_json::array();
  const auto size = static_cast<size_t>(g.batch_size);
  // Batch k (items k*B .. k*B+B-1) is rank k mod W's: the same batches as one process makes.
  for (size_t first = static_cast<size_t>(ranks.rank) * size; first < items.size();
       first += static_cast<size_t>(ranks.world_size) * size) {
    const auto batch = prepare_batch(g, items, first, std::min(items.size(), first + size), name);
    for (const auto& [index, error] : batch.image_errors) errors.push_back({index, error});
    if (batch.prompts.empty()) continue;
    const auto texts = generate_answers(g.model, batch.prompts, batch.pixels, g.tokenizer, g.chat, g.options);
    for (size_t k = 0; k < texts.size(); ++k) answers.push_back({batch.indices[k], texts[k]});
  }
  return {{"answers", answers}, {"image_errors", errors}};
}

// Rank 0: every rank's share merged by item index; each index must come exactly once.
void merge_shares(const std::vector<std::string>& shares, size_t count, const std::string& name,
                  std::vector<std::optional<std::string>>& answers, std::vector<std::string>& image_errors) {
  answers.assign(count, std::nullopt);
  image_errors.assign(count, "");
  std::vector<int> seen(count, 0);
  for (const auto& share : shares) {
    const auto part = nlohmann::json::parse(share);
    for (const auto& kind : {"answers", "image_errors"}) {
      for (const auto& entry : part[kind]) {
        const auto index = entry[0].get<size_t>();
        if (index >= count) throw std::runtime_error("eval " + name + ": a rank returned item " + std::to_string(index) + " of " + std::to_string(count));
        ++seen[index];
        if (std::string(kind) == "answers") answers[index] = entry[1].get<std::string>();
        else image_errors[index] = entry[1].get<std::string>();
      }
    }
  }
  std::vector<std::string> problems;
  for (size_t i = 0; i < count && problems.size() < 10; ++i) {
    if (seen[i] != 1) problems.push_back("item " + std::to_string(i) + (seen[i] ? " came " + std::to_string(seen[i]) + " times" : " came from no rank"));
  }
  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += (list.empty() ? "" : "; ") + p;
    throw std::runtime_error("eval " + name + ": the ranks' shares do not cover the items exactly once: " + list);
  }
}

SuiteResult evaluate_suite(const Generation& base, const EvalSuite& suite, const EvalOptions& options, const EvalRanks& ranks,
                           const std::string& out) {
  const auto start = std::chrono::steady_clock::now();
  const auto limited = limited_items(suite, options);
  const auto& items = limited.items;
  const auto total = items.size() + limited.left_out;
  auto generation = base;
  generation.options.max_new_tokens = suite.max_new_tokens;
  // Answers cut at max_new_tokens may end inside a UTF-8 character: replaced (U+FFFD), not fatal.
  const auto share = generate_share(generation, items, ranks, suite.name).dump(-1, ' ', false, kReplaceBadUtf8);
  const auto shares = ranks.all_gather ? ranks.all_gather(share, "eval " + suite.name + " answers") : std::vector<std::string>{share};
  if (ranks.rank != 0) return {};

  std::vector<std::optional<std::string>> answers;
  std::vector<std::string> image_errors;
  merge_shares(shares, items.size(), suite.name, answers, image_errors);
  std::filesystem::create_directories(out + "/predictions");
  std::filesystem::create_directories(out + "/metrics");
  const auto predictions = out + "/predictions/" + suite.name + ".jsonl";
  {
    std::ofstream file(predictions);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!answers[i]) continue;
      auto record = items[i].record;
      record["text"] = *answers[i];
      file << record.dump(-1, ' ', false, kReplaceBadUtf8) << "\n";
    }
    if (!file) throw std::runtime_error("eval " + suite.name + ": cannot write " + predictions);
  }
  bench::ScoreRequest request;
  request.data = suite.source.data;
  request.predictions = predictions;
  request.scoring = bench::parse_scoring(options.scoring);
  if (limited.left_out > 0) {  // the first eval.limit items are the benchmark now
    request.questions.emplace();
    for (const auto& item : items) request.questions->insert(item.key);
  }
  auto metrics = bench::score_benchmark(suite.source.benchmark, request).to_json();

  ordered_json failed = ordered_json::array();
  int64_t failures = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (image_errors[i].empty()) continue;
    if (++failures <= 20) failed.push_back({{"id", items[i].key}, {"error", image_errors[i]}});
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics["generation"] = {{"items", items.size()},          {"items_in_data", total},
                           {"answered", static_cast<int64_t>(items.size()) - failures},
                           {"image_errors", failures},       {"image_error_items", failed},
                           {"max_new_tokens", suite.max_new_tokens}, {"ranks", ranks.world_size},
                           {"seconds", seconds}};
  std::ofstream(out + "/metrics/" + suite.name + ".json") << metrics.dump(2, ' ', false, kReplaceBadUtf8) << "\n";
  if (failures > 0) {
    spdlog::warn("eval {}: {} of {} items have no usable image (first: {}: {}); scored as missing", suite.name, failures,
                 items.size(), failed[0]["id"].get<std::string>(), failed[0]["error"].get<std::string>());
  }
  spdlog::info("eval {}: {} items ({} answered) in {:.0f}s; {}", suite.name, items.size(), items.size() - failures, seconds,
               out + "/metrics/" + suite.name + ".json");
  return {suite.name, suite.source.benchmark, metrics};
}

}  // namespace

std::vector<SuiteResult> evaluate_suites(TrolModel& model, const DataConfig& data, const EvalOptions& options,
                                         const EvalRanks& ranks, const std::string& out) {
  const auto suites = evaluation_suites(data, options);
  if (suites.empty()) return {};
  const Asking asking(model, data);
  const auto base = asking.generation(options);
  std::vector<SuiteResult> results;
  for (const auto& suite : suites) {
    auto result = evaluate_suite(base, suite, options, ranks, out);
    if (ranks.rank == 0) results.push_back(std::move(result));
  }
  return results;
}

std::vector<std::vector<double>> mean_mixing_ratios(TrolModel& model, const DataConfig& data, const EvalOptions& options,
                                                    const EvalSuite& suite) {
  if (!model->config().trol.traversal) return {};
  const Asking asking(model, data);
  const auto g = asking.generation(options);
  const auto items = limited_items(suite, options).items;
  const auto batch = prepare_batch(g, items, 0, std::min<size_t>(items.size(), static_cast<size_t>(options.batch_size)), suite.name);
  if (batch.prompts.empty()) return {};
  size_t shortest = batch.prompts.front().size();
  for (const auto& p : batch.prompts) shortest = std::min(shortest, p.size());
  auto ids = torch::empty({static_cast<int64_t>(batch.prompts.size()), static_cast<int64_t>(shortest)}, torch::kLong);
  for (size_t r = 0; r < batch.prompts.size(); ++r) {
    std::copy(batch.prompts[r].begin(), batch.prompts[r].begin() + static_cast<std::ptrdiff_t>(shortest), ids[r].data_ptr<int64_t>());
  }
  torch::NoGradGuard no_grad;
  const auto device = batch.pixels.defined() ? batch.pixels.device() : model->parameters().front().device();
  const auto out = model->forward({ids.to(device), torch::ones_like(ids).to(device), batch.pixels, {}}, true);
  const auto mean = out.gate_ratios.to(torch::kFloat64).mean(1).cpu();  // [layers, positions]
  std::vector<std::vector<double>> ratios;
  for (int64_t l = 0; l < mean.size(0); ++l) ratios.emplace_back(mean[l].data_ptr<double>(), mean[l].data_ptr<double>() + mean.size(1));
  return ratios;
}

}  // namespace trol
