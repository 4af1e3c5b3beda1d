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

// This rank's share of `items`: {"answers": [[index, text]...], "image_errors": [[index, message]...]}.
ordered_json generate_share(const Generation& g, const std::vector<BenchmarkItem>& items, const EvalRanks& ranks,
                            const std::string& name) {
  const auto device = g.model->parameters().front().device();
  const auto dtype = g.model->parameters().front().scalar_type();
  ordered_json answers = ordered_json::array(), errors = ordered_json::array();
  const auto batch = static_cast<size_t>(g.batch_size);
  // Batch k (items k*B .. k*B+B-1) is rank k mod W's: the same batches as one process makes.
  for (size_t first = static_cast<size_t>(ranks.rank) * batch; first < items.size();
       first += static_cast<size_t>(ranks.world_size) * batch) {
    const size_t last = std::min(items.size(), first + batch);
    std::vector<std::vector<int64_t>> prompts;
    std::vector<torch::Tensor> images;
    std::vector<size_t> indices;
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
        errors.push_back({i, e.what()});
        continue;
      }
      prompts.push_back(encode_user_turn(name + ":" + item.key, user_turn(item), image_tokens, g.tokenizer, g.chat));
      images.insert(images.end(), pixels.begin(), pixels.end());
      indices.push_back(i);
    }
    if (prompts.empty()) continue;
    // A batch of text-only questions has no pixels.
    const auto pixels = images.empty() ? torch::Tensor() : torch::cat(images).to(device, dtype);
    const auto texts = generate_answers(g.model, prompts, pixels, g.tokenizer, g.chat, g.options);
    for (size_t k = 0; k < texts.size(); ++k) answers.push_back({indices[k], texts[k]});
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
  auto items = read_benchmark_items(suite.source);
  const auto total = items.size();
  if (options.limit > 0 && static_cast<int64_t>(items.size()) > options.limit) items.resize(options.limit);
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
  if (options.suites.empty()) return {};
  const auto& config = model->config();
  const auto tokenizer = load_tokenizer(data);
  check_tokenizer_matches_model(tokenizer, data, config);
  const auto chat = chat_template(data.template_name);
  const Generation base{model, data, tokenizer, chat, generate_options(options), config.vision.tokens_per_image(),
                        config.vision.image_size, options.batch_size};
  std::vector<SuiteResult> results;
  for (const auto& suite : options.suites) {
    auto result = evaluate_suite(base, suite, options, ranks, out);
    if (ranks.rank == 0) results.push_back(std::move(result));
  }
  return results;
}

}  // namespace trol
