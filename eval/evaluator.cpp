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
#include "eval/benchmarks/score_common.h"
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

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \n\t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \n\t") - begin + 1);
}

}  // namespace

EvalSuite read_eval_suite(ConfigReader& reader) {
  EvalSuite suite;
  reader.read("benchmark", suite.source.benchmark);
  reader.read("data", suite.source.data);
  reader.read("images", suite.source.images);
  reader.read("name", suite.name);
  reader.read("max_new_tokens", suite.max_new_tokens);
  reader.finish();
  if (!has_item_reader(suite.source.benchmark)) {
    std::string known;
    for (const auto& n : item_benchmark_names()) known += (known.empty() ? "" : ", ") + n;
    const auto near = closest_match(suite.source.benchmark, item_benchmark_names());
    const auto what = suite.source.benchmark.empty() ? std::string("missing") : "unknown benchmark '" + suite.source.benchmark + "'";
    reader.fail("benchmark", what + (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; known: " + known);
  }
  if (suite.source.data.empty()) reader.fail("data", "missing: the benchmark's files, as `trol score --data` takes them (docs/evaluation.md)");
  if (suite.max_new_tokens < 0) reader.fail("max_new_tokens", "must be 0 (the authors' length) or positive");
  if (suite.name.empty()) suite.name = suite.source.benchmark;
  if (suite.max_new_tokens == 0) suite.max_new_tokens = authors_max_new_tokens(suite.source.benchmark);
  return suite;
}

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
  reader.read("scoring", o.scoring);
  reader.read("every_steps", o.every_steps);
  for (auto& entry : reader.list("suites")) o.suites.push_back(read_eval_suite(entry));
  reader.finish();
  for (const auto& b : o.benchmarks) {
    if (b != "pope_random" && b != "pope_popular" && b != "pope_adversarial" && b != "vqa" && b != "mmbench") {
      const std::string real = has_item_reader(b) ? "; the public benchmark '" + b + "' goes in eval.suites with its data" : "";
      reader.fail("benchmarks", "unknown benchmark '" + b + "' (known: pope_random, pope_popular, pope_adversarial, vqa, mmbench)" + real);
    }
  }
  for (size_t i = 0; i < o.suites.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (o.suites[i].name == o.suites[j].name) {
        reader.fail("suites", "two suites are named '" + o.suites[i].name + "' (give each its own `name`)");
      }
    }
  }
  try {
    bench::parse_scoring(o.scoring);
  } catch (const std::invalid_argument& e) {
    reader.fail("scoring", e.what());
  }
  if (o.every_steps < 0) reader.fail("every_steps", "must be 0 (never) or positive");
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

std::vector<int64_t> encode_image_question(const std::string& id, const std::string& question, const Tokenizer& tokenizer,
                                           const ChatTemplate& chat, int64_t image_tokens) {
  return encode_user_turn(id, kImagePlaceholder + "\n" + question, {image_tokens}, tokenizer, chat);
}

std::vector<int64_t> encode_user_turn(const std::string& id, const std::string& turn,
                                      const std::vector<int64_t>& image_tokens, const Tokenizer& tokenizer,
                                      const ChatTemplate& chat) {
  Conversation conversation;
  conversation.id = id;
  conversation.images.assign(image_tokens.size(), "image");
  conversation.turns = {{"human", turn}};
  return encode_prompt(conversation, tokenizer, chat, image_tokens).input_ids;
}

torch::Tensor eval_image(const std::string& path, const std::vector<uint8_t>& bytes, const std::string& what,
                         const DataConfig& data, int64_t size) {
  const auto rgb = path.empty() ? decode_rgb(bytes, what) : load_rgb(path);
  return image_to_tiles(rgb, size, data);
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
        images.push_back(eval_image(items[i].image_path, items[i].image_bytes, items[i].benchmark + " item " + items[i].id,
                                    data, config.vision.image_size));
        prompts.push_back(encode_image_question(items[i].benchmark + ":" + items[i].id, items[i].question, tokenizer, chat,
                                                images.back().size(0) * per_image));
      }
      const auto pixels = torch::cat(images).to(device, dtype);
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
