#include "eval/evaluator.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "data/chat_template.h"
#include "data/image_ops.h"
#include "data/training_set.h"
#include "eval/benchmarks/score_common.h"
#include "trol/config_reader.h"
#include "trol/generate.h"

namespace trol {

namespace {

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

namespace {

// The built-in dataset's evaluation splits: name, benchmark, file under DIR/eval/, and whether
// its images are files under data.images_folder() (MMBench's are in the TSV).
struct BuiltinSplit {
  const char* name;
  const char* benchmark;
  const char* file;
  bool image_files;
};
constexpr BuiltinSplit kBuiltinSplits[] = {
    {"pope_random", "pope", "pope_random.jsonl", true},
    {"pope_popular", "pope", "pope_popular.jsonl", true},
    {"pope_adversarial", "pope", "pope_adversarial.jsonl", true},
    {"vqa", "vqa", "vqa.jsonl", true},
    {"mmbench", "mmbench", "mmbench.tsv", false},
};

}  // namespace

const std::vector<std::string>& builtin_split_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const auto& split : kBuiltinSplits) list.emplace_back(split.name);
    return list;
  }();
  return names;
}

std::vector<EvalSuite> builtin_suites(const DataConfig& data, const EvalOptions& options) {
  const auto folder = data.resolve("eval");
  std::vector<EvalSuite> suites;
  for (const auto& name : options.benchmarks) {
    const auto* split = std::find_if(std::begin(kBuiltinSplits), std::end(kBuiltinSplits),
                                     [&](const BuiltinSplit& s) { return name == s.name; });
    if (split == std::end(kBuiltinSplits)) {
      throw std::invalid_argument("unknown built-in split '" + name + "'");  // read_eval_options refuses it first
    }
    EvalSuite suite;
    suite.name = name;
    suite.max_new_tokens = options.max_new_tokens;
    suite.source = {split->benchmark, folder + "/" + split->file, split->image_files ? data.images_folder() : ""};
    suites.push_back(std::move(suite));
  }
  return suites;
}

std::vector<EvalSuite> evaluation_suites(const DataConfig& data, const EvalOptions& options) {
  auto suites = builtin_suites(data, options);
  suites.insert(suites.end(), options.suites.begin(), options.suites.end());
  return suites;
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
  const auto& builtin = builtin_split_names();
  for (size_t i = 0; i < o.benchmarks.size(); ++i) {
    const auto& b = o.benchmarks[i];
    if (std::find(builtin.begin(), builtin.end(), b) == builtin.end()) {
      const std::string real = has_item_reader(b) ? "; the public benchmark '" + b + "' goes in eval.suites with its data" : "";
      std::string known;
      for (const auto& name : builtin) known += (known.empty() ? "" : ", ") + name;
      reader.fail("benchmarks", "unknown benchmark '" + b + "' (known: " + known + ")" + real);
    }
    if (std::find(o.benchmarks.begin(), o.benchmarks.begin() + static_cast<std::ptrdiff_t>(i), b) !=
        o.benchmarks.begin() + static_cast<std::ptrdiff_t>(i)) {
      reader.fail("benchmarks", "'" + b + "' is listed twice");
    }
  }
  for (size_t i = 0; i < o.suites.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (o.suites[i].name == o.suites[j].name) {
        reader.fail("suites", "two suites are named '" + o.suites[i].name + "' (give each its own `name`)");
      }
    }
    if (std::find(o.benchmarks.begin(), o.benchmarks.end(), o.suites[i].name) != o.benchmarks.end()) {
      reader.fail("suites", "the suite name '" + o.suites[i].name + "' is a built-in split's in eval.benchmarks (give it another `name`)");
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

}  // namespace trol
