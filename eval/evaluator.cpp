#include "eval/evaluator.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "data/chat_template.h"
#include "data/image_ops.h"
#include "data/training_set.h"
#include "eval/answer_scoring.h"
#include "eval/builtin_benchmarks.h"
#include "eval/yes_no_metrics.h"
#include "trol/config_reader.h"
#include "trol/generate.h"

namespace trol {

namespace {

std::vector<EvalItem> read_benchmark(const std::string& name, const DataConfig& data) {
  const auto folder = data.resolve("eval");
  const auto images = data.images_folder();
  if (name.rfind("pope_", 0) == 0) return read_pope(folder + "/" + name + ".jsonl", images, name);
  if (name == "vqa") return read_vqa(folder + "/vqa.jsonl", images);
  if (name == "mmbench") return read_mmbench_tsv(folder + "/mmbench.tsv");
  throw std::invalid_argument("unknown built-in benchmark '" + name +
                              "' (known: pope_random, pope_popular, pope_adversarial, vqa, mmbench)");
}

torch::Tensor item_image(const EvalItem& item, const DataConfig& data, int64_t size) {
  const auto rgb = item.image_path.empty() ? decode_rgb(item.image_bytes, item.benchmark + " item " + item.id)
                                           : load_rgb(item.image_path);
  return image_to_tensor(rgb, size, data.image_mean, data.image_std);
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \n\t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \n\t") - begin + 1);
}

}  // namespace

EvalOptions read_eval_options(ConfigReader& reader) {
  EvalOptions o;
  reader.read("enabled", o.enabled);
  reader.read("benchmarks", o.benchmarks);
  reader.read("batch_size", o.batch_size);
  reader.read("max_new_tokens", o.max_new_tokens);
  reader.read("limit", o.limit);
  reader.read("num_beams", o.num_beams);
  std::string decode = decode_mode_name(o.decode);
  reader.read("decode", decode);
  reader.finish();
  for (const auto& b : o.benchmarks) {
    if (b != "pope_random" && b != "pope_popular" && b != "pope_adversarial" && b != "vqa" && b != "mmbench") {
      reader.fail("benchmarks", "unknown benchmark '" + b + "' (known: pope_random, pope_popular, pope_adversarial, vqa, mmbench)");
    }
  }
  if (o.batch_size < 1) reader.fail("batch_size", "must be at least 1");
  if (o.max_new_tokens < 1) reader.fail("max_new_tokens", "must be at least 1");
  if (o.limit < 0) reader.fail("limit", "must be 0 (all) or positive");
  if (o.num_beams < 1) reader.fail("num_beams", "must be at least 1 (1: greedy)");
  try {
    o.decode = parse_decode_mode(decode);
  } catch (const std::invalid_argument& e) {
    reader.fail("decode", e.what());
  }
  return o;
}

std::vector<std::string> generate_answers(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                          const torch::Tensor& pixels, const Tokenizer& tokenizer,
                                          const ChatTemplate& chat, int64_t max_new_tokens, DecodeMode decode) {
  GenerateOptions generate;
  generate.max_new_tokens = max_new_tokens;
  generate.decode = decode;
  return generate_answers(model, prompts, pixels, tokenizer, chat, std::move(generate));
}

std::vector<std::string> generate_answers(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                          const torch::Tensor& pixels, const Tokenizer& tokenizer,
                                          const ChatTemplate& chat, GenerateOptions options) {
  options = answer_options(std::move(options), tokenizer, chat);
  std::vector<std::string> answers;
  for (const auto& sequences : generate(model, prompts, pixels, options)) {
    answers.push_back(answer_text(tokenizer, sequences.front().ids, options.stop_strings));
  }
  return answers;
}

GenerateOptions answer_options(GenerateOptions options, const Tokenizer& tokenizer, const ChatTemplate& chat) {
  options.pad_id = tokenizer.pad_id();
  options.stop_ids.push_back(tokenizer.token_id(chat.assistant_end));
  if (tokenizer.eos_id() >= 0) options.stop_ids.push_back(tokenizer.eos_id());
  // Stop strings are matched on the text of the new tokens (the tokenizer lives here, not in trol/).
  options.detokenize = [&tokenizer](const std::vector<int64_t>& ids) { return tokenizer.decode(ids); };
  return options;
}

std::string answer_text(const Tokenizer& tokenizer, const std::vector<int64_t>& ids,
                        const std::vector<std::string>& stop_strings) {
  return trim(cut_at_stop_strings(tokenizer.decode(ids), stop_strings));
}

GenerateOptions generate_options(const EvalOptions& options) {
  GenerateOptions generate;
  generate.max_new_tokens = options.max_new_tokens;
  generate.decode = options.decode;
  if (options.num_beams > 1) {
    generate.strategy = SearchStrategy::beam;
    generate.num_beams = options.num_beams;
  }
  return generate;
}

EvalReport evaluate_builtin(TrolModel& model, const DataConfig& data, const EvalOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto& config = model->config();
  const auto tokenizer = load_tokenizer(data);
  check_tokenizer_matches_model(tokenizer, data, config);
  const auto chat = chat_template(data.template_name);
  const int64_t per_image = config.vision.tokens_per_image();
  const auto device = model->parameters().front().device();
  const auto dtype = model->parameters().front().scalar_type();
  if (!options.output_dir.empty()) std::filesystem::create_directories(options.output_dir + "/predictions");

  EvalReport report;
  std::vector<EvalItem> all_items;
  std::vector<std::string> all_predictions;
  for (const auto& benchmark : options.benchmarks) {
    auto items = read_benchmark(benchmark, data);
    if (options.limit > 0 && static_cast<int64_t>(items.size()) > options.limit) items.resize(options.limit);
    std::vector<std::string> predictions;
    std::vector<std::vector<int64_t>> prompts;
    for (size_t first = 0; first < items.size(); first += options.batch_size) {
      const size_t last = std::min(items.size(), first + options.batch_size);
      prompts.clear();
      std::vector<torch::Tensor> images;
      for (size_t i = first; i < last; ++i) {
        Conversation conversation;
        conversation.id = items[i].benchmark + ":" + items[i].id;
        conversation.images = {"image"};
        conversation.turns = {{"human", kImagePlaceholder + "\n" + items[i].question}};
        prompts.push_back(encode_prompt(conversation, tokenizer, chat, per_image).input_ids);
        images.push_back(item_image(items[i], data, config.vision.image_size));
      }
      const auto pixels = torch::stack(images).to(device, dtype);
      if (report.mean_gate.empty() && benchmark.rfind("pope_", 0) == 0 && config.trol.traversal) {
        // POPE prompts share one layout (image run, then a question), so positions line up.
        size_t shortest = prompts.front().size();
        for (const auto& p : prompts) shortest = std::min(shortest, p.size());
        auto ids = torch::empty({static_cast<int64_t>(prompts.size()), static_cast<int64_t>(shortest)}, torch::kLong);
        for (size_t r = 0; r < prompts.size(); ++r) {
          std::copy(prompts[r].begin(), prompts[r].begin() + static_cast<std::ptrdiff_t>(shortest), ids[r].data_ptr<int64_t>());
        }
        torch::NoGradGuard no_grad;
        const auto out = model->forward({ids.to(device), torch::ones_like(ids).to(device), pixels, {}}, true);
        const auto mean = out.gate_ratios.to(torch::kFloat64).mean(1).cpu();  // [layers, positions]
        for (int64_t l = 0; l < mean.size(0); ++l) {
          report.mean_gate.emplace_back(mean[l].data_ptr<double>(), mean[l].data_ptr<double>() + mean.size(1));
        }
      }
      for (auto& answer : generate_answers(model, prompts, pixels, tokenizer, chat, generate_options(options))) {
        predictions.push_back(std::move(answer));
      }
    }
    if (!options.output_dir.empty()) {
      std::ofstream out(options.output_dir + "/predictions/" + benchmark + ".jsonl");
      for (size_t i = 0; i < items.size(); ++i) {
        out << nlohmann::json{{"question_id", items[i].id}, {"prompt", items[i].question}, {"text", predictions[i]},
                              {"answer", items[i].answer}}
                   .dump()
            << "\n";
      }
    }
    if (benchmark.rfind("pope_", 0) == 0) {
      std::vector<bool> labels;
      for (const auto& item : items) labels.push_back(item.answer == "yes");
      const auto m = score_yes_no(predictions, labels);
      report.metrics[benchmark] = {{"accuracy", m.accuracy}, {"precision", m.precision}, {"recall", m.recall},
                                   {"f1", m.f1}, {"yes_ratio", m.yes_ratio}, {"items", items.size()}};
    }
    all_items.insert(all_items.end(), items.begin(), items.end());
    all_predictions.insert(all_predictions.end(), predictions.begin(), predictions.end());
    spdlog::info("eval {}: {} items", benchmark, items.size());
  }
  for (const auto& [kind, score] : score_items(all_items, all_predictions)) {
    if (kind.rfind("pope_", 0) == 0) continue;  // reported with precision/recall above
    report.metrics[kind] = {{"accuracy", score.accuracy()}, {"items", score.total}, {"unparsable", score.unparsable}};
    report.unparsable += score.unparsable;
  }
  report.items = static_cast<int64_t>(all_items.size());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace trol
