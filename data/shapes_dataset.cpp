#include "data/shapes_dataset.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "data/chat_template.h"
#include "data/portable_random.h"
#include "data/shapes_questions.h"
#include "data/tokenizer.h"

namespace trol {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;  // keys in insertion order: byte-identical output
using namespace shapes;
using Turns = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kDatasetName = "trol-shapes";
constexpr int64_t kMaxImagesPerSplit = 999999;  // six-digit file names
constexpr int kPopeMaxPerAnswer = 3;             // POPE asks 3 "yes" and 3 "no" per image

// Random streams; every image has its own in each, see derive_seed.
enum Stream : uint64_t {
  kSceneStream = 1,
  kCaptionStream,
  kBasicStream,
  kAdversarialStream,
  kTextStream,
  kPopeStream,  // + split index
  kVqaStream = kPopeStream + 3,
  kMmbenchStream,
};

uint64_t split_stream(ShapesSplit split, uint64_t stream) { return stream * 2 + (split == ShapesSplit::eval ? 1 : 0); }

PortableRandom image_random(const ShapesDatasetOptions& o, ShapesSplit split, uint64_t stream, int64_t index) {
  return PortableRandom(derive_seed(o.seed, split_stream(split, stream), uint64_t(index)));
}

// The basic question kinds and how often each is drawn.
const std::vector<std::pair<std::string, double>> kBasicKinds{
    {"existence", 0.22}, {"colour", 0.18}, {"counting", 0.18}, {"position", 0.14}, {"location", 0.12}, {"choice", 0.16}};

std::optional<Question> basic_question(const std::string& kind, const Scene& scene, PortableRandom& random) {
  if (kind == "existence") return existence_question(scene, random, true);
  if (kind == "colour") return colour_question(scene, random, true);
  if (kind == "counting") return counting_question(scene, random, true);
  if (kind == "position") return position_question(scene, random, true);
  if (kind == "location") return location_question(scene, random, true);
  return choice_question(scene, random);
}

// The training prompt: short-answer questions carry LLaVA's answer instruction half of the
// time, so the model answers briefly with or without it (evaluators add it).
std::string training_prompt(const Question& q, PortableRandom& random) {
  if (!q.options.empty()) return prompt_text(q);
  return random.chance(0.5) ? q.text + "\n" + kShortAnswerInstruction : q.text;
}

// Several questions per image, as in LLaVA's multi-turn data: the image tokens are most of a
// sample's length, so each extra turn adds supervision at a fraction of a new sample's cost.
int turns_for_conversation(PortableRandom& random) { return int(random.between(3, 6)); }

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(bytes[i]) << 16) | (i + 1 < bytes.size() ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < bytes.size() ? uint32_t(bytes[i + 2]) : 0);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[n & 63] : '=';
  }
  return out;
}

[[noreturn]] void write_failed(const fs::path& path) {
  throw std::runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
}

// One output file, and the counts its summary reports.
class OutputFile {
 public:
  OutputFile(const fs::path& root, std::string relative, std::string unit)
      : path_(root / relative), out_(path_, std::ios::binary) {
    summary_.path = std::move(relative);
    summary_.unit = std::move(unit);
    if (!out_) write_failed(path_);
  }
  void line(const std::string& text) { out_ << text << '\n'; }
  int64_t records() const { return summary_.records; }
  // One more record (line); `kind`, if given, is counted too.
  void record(const std::string& kind = "") {
    ++summary_.records;
    if (!kind.empty()) tally(kind);
  }
  // Counts a kind of content inside a record (a question of a conversation).
  void tally(const std::string& kind) { ++summary_.kinds[kind]; }
  ShapesFileSummary close() {
    out_.close();
    if (out_.fail()) write_failed(path_);
    return summary_;
  }

 private:
  fs::path path_;
  std::ofstream out_;
  ShapesFileSummary summary_;
};

// Lines of every training text, for a tokenizer (the <image> placeholder is not text). A
// corpus without a file takes nothing: for texts already added once.
class Corpus {
 public:
  explicit Corpus(OutputFile* file) : file_(file) {}
  void add(const std::string& text) {
    if (!file_) return;
    size_t start = 0;
    while (start <= text.size()) {
      const size_t end = std::min(text.find('\n', start), text.size());
      const std::string line = text.substr(start, end - start);
      if (!line.empty() && line != "<image>") {
        file_->line(line);
        file_->record();
      }
      start = end + 1;
    }
  }

 private:
  OutputFile* file_;
};

// A LLaVA-format conversation; `image` empty for text-only ones.
std::string conversation(const std::string& id, const std::string& image, const Turns& turns, Corpus& corpus) {
  ordered_json j;
  j["id"] = id;
  if (!image.empty()) j["image"] = image;
  ordered_json messages = ordered_json::array();
  for (size_t i = 0; i < turns.size(); ++i) {
    const std::string human = (i == 0 && !image.empty() ? "<image>\n" : "") + turns[i].first;
    messages.push_back(ordered_json{{"from", "human"}, {"value", human}});
    messages.push_back(ordered_json{{"from", "gpt"}, {"value", turns[i].second}});
    corpus.add(turns[i].first);
    corpus.add(turns[i].second);
  }
  j["conversations"] = std::move(messages);
  return j.dump();
}

// 3-6 questions of different kinds about one scene (fewer when some kinds have none), tallied in
// `file`; the kind of each turn is appended to `kinds`.
Turns basic_conversation(const Scene& scene, PortableRandom& random, OutputFile& file, std::vector<std::string>& kinds_out) {
  Turns turns;
  auto kinds = kBasicKinds;
  for (int wanted = turns_for_conversation(random); wanted > 0 && !kinds.empty();) {
    std::vector<double> weights;
    for (const auto& kind : kinds) weights.push_back(kind.second);
    const size_t k = random.weighted(weights);
    const std::string kind = kinds[k].first;
    kinds.erase(kinds.begin() + std::ptrdiff_t(k));  // one question of a kind per conversation
    if (const auto q = basic_question(kind, scene, random)) {
      turns.push_back({training_prompt(*q, random), q->answer});
      file.tally(kind);
      kinds_out.push_back(kind);
      --wanted;
    }
  }
  return turns;  // never empty: existence and counting questions always exist
}

// 2-4 different binding-curriculum questions about one scene, tallied in `file`.
Turns adversarial_conversation(const Scene& scene, const std::vector<Shape>& popularity, PortableRandom& random,
                               OutputFile& file) {
  Turns turns;
  const size_t wanted = size_t(random.between(2, 4));
  for (int attempt = 0; attempt < 8 && turns.size() < wanted; ++attempt) {
    const Question q = binding_question(scene, popularity, random);
    if (std::any_of(turns.begin(), turns.end(), [&](const auto& t) { return t.first.rfind(q.text, 0) == 0; })) continue;
    turns.push_back({training_prompt(q, random), q.answer});
    file.tally(q.kind);
  }
  return turns;
}

std::vector<uint8_t> encode_png(const cv::Mat& rgb, const fs::path& for_messages) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", bgr, png)) throw std::runtime_error("cannot encode '" + for_messages.string() + "' as PNG");
  return png;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  if (!out) write_failed(path);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  out.close();
  if (out.fail()) write_failed(path);
}

void check_range(const char* option, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    throw std::invalid_argument("shapes dataset: " + std::string(option) + " must be in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got " + std::to_string(value));
  }
}

// The single-question files, one per kind of question (instruct_adversarial's are all "binding").
const std::vector<std::string> kSingleKinds{"existence", "colour", "counting", "position", "location", "choice", "binding"};

std::string single_file(const std::string& kind) { return "single/" + kind + ".jsonl"; }

const std::vector<std::string> kOutputFiles{"captions.jsonl",         "instruct_basic.jsonl",   "instruct_adversarial.jsonl",
                                            "text.jsonl",             "corpus.txt",             "dataset.json",
                                            "eval/pope_random.jsonl", "eval/pope_popular.jsonl", "eval/pope_adversarial.jsonl",
                                            "eval/mmbench.tsv",       "eval/vqa.jsonl"};

bool holds_shapes_dataset(const fs::path& root) {
  std::ifstream in(root / "dataset.json");
  if (!in) return false;
  const auto j = ordered_json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.value("name", std::string()) == kDatasetName;
}

// Makes out_dir ready: created if absent; an earlier shapes dataset there removed (its files
// only) with `overwrite`; anything else non-empty refused.
void prepare_out_dir(const ShapesDatasetOptions& o) {
  const fs::path root(o.out_dir);
  std::error_code ec;
  if (fs::exists(root, ec)) {
    if (!fs::is_directory(root, ec)) throw std::runtime_error("output folder '" + o.out_dir + "' exists and is not a folder");
    if (!fs::is_empty(root, ec)) {
      if (!o.overwrite) {
        throw std::runtime_error("output folder '" + o.out_dir +
                                 "' is not empty (--force replaces an earlier shapes dataset there)");
      }
      if (!holds_shapes_dataset(root)) {
        throw std::runtime_error("output folder '" + o.out_dir + "' is not empty and holds no dataset.json of " +
                                 kDatasetName + "; refusing to overwrite it");
      }
      for (const auto& file : kOutputFiles) fs::remove(root / file, ec);
      for (const auto& kind : kSingleKinds) fs::remove(root / single_file(kind), ec);
      for (const char* folder : {"images/train", "images/eval"}) {
        fs::remove_all(root / folder, ec);
        if (ec) throw std::runtime_error("cannot remove '" + (root / folder).string() + "': " + ec.message());
      }
    }
  }
  for (const char* folder : {"images/train", "images/eval", "eval", "single"}) {
    fs::create_directories(root / folder, ec);
    if (ec) throw std::runtime_error("cannot create output folder '" + (root / folder).string() + "': " + ec.message());
  }
}

// The share of `counts` taken by its most frequent key: the accuracy of always giving it.
double majority_share(const std::map<std::string, int64_t>& counts) {
  int64_t total = 0, best = 0;
  for (const auto& [key, n] : counts) {
    total += n;
    best = std::max(best, n);
  }
  return total > 0 ? double(best) / double(total) : 0.0;
}

ordered_json vocabulary_json() {
  ordered_json shapes = ordered_json::array(), frequency = ordered_json::array(), colours = ordered_json::array(), positions = ordered_json::array();
  for (Shape s : all_shapes()) {
    shapes.push_back(shape_name(s));
    frequency.push_back(kShapeFrequency[size_t(s)]);
  }
  for (Colour c : all_colours()) colours.push_back(colour_name(c));
  for (int cell = 0; cell < kNumCells; ++cell) positions.push_back(cell_name(cell));
  return ordered_json{{"shapes", shapes},       {"shape_frequency", frequency},
              {"colours", colours},
              {"positions", positions}, {"relations", ordered_json::array({"left", "right", "above", "below"})}};
}

}  // namespace

std::string shapes_image_path(ShapesSplit split, int64_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%06lld.png", static_cast<long long>(index));
  return std::string(split == ShapesSplit::train ? "train/" : "eval/") + name;
}

Scene shapes_dataset_scene(uint64_t seed, ShapesSplit split, int64_t index, int64_t image_size) {
  PortableRandom random(derive_seed(seed, split_stream(split, kSceneStream), uint64_t(index)));
  return sample_scene(random, image_size);
}

ShapesDatasetSummary make_shapes_dataset(const ShapesDatasetOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.out_dir.empty()) throw std::invalid_argument("shapes dataset: out_dir (--out) is required");
  check_range("train_images", o.train_images, 1, kMaxImagesPerSplit);
  check_range("eval_images", o.eval_images, 1, kMaxImagesPerSplit);
  check_range("image_size", o.image_size, kMinImageSize, kMaxImageSize);
  check_range("basic_per_image", o.basic_per_image, 0, 100);
  check_range("adversarial_per_image", o.adversarial_per_image, 0, 100);
  prepare_out_dir(o);
  const fs::path root(o.out_dir);

  std::vector<Scene> train_scenes, eval_scenes;
  for (int64_t i = 0; i < o.train_images; ++i) {
    train_scenes.push_back(shapes_dataset_scene(o.seed, ShapesSplit::train, i, o.image_size));
  }
  for (int64_t i = 0; i < o.eval_images; ++i) {
    eval_scenes.push_back(shapes_dataset_scene(o.seed, ShapesSplit::eval, i, o.image_size));
  }

  OutputFile corpus_file(root, "corpus.txt", "lines");
  Corpus corpus(&corpus_file);
  ShapesFileSummary train_images{"images/train", "images", 0, {}}, eval_images{"images/eval", "images", 0, {}};

  // Training files.
  OutputFile captions(root, "captions.jsonl", "conversations");
  OutputFile basic(root, "instruct_basic.jsonl", "conversations");
  OutputFile adversarial(root, "instruct_adversarial.jsonl", "conversations");
  // Every question of the conversations again, alone with its image, in one file per kind: in a
  // conversation earlier turns give later answers away ("What colour is the circle?" before "Is
  // there a circle?"), and a tiny model trained on those learns the text shortcut instead of
  // looking; per kind, so that a curriculum can bring the kinds in one after another.
  std::vector<OutputFile> single;
  single.reserve(kSingleKinds.size());
  for (const auto& kind : kSingleKinds) single.emplace_back(root, single_file(kind), "conversations");
  auto write_single = [&](const std::string& conversation_id, const std::string& image, const Turns& turns,
                          const std::vector<std::string>& kinds) {
    Corpus already_added(nullptr);
    for (size_t t = 0; t < turns.size(); ++t) {
      const auto at = std::find(kSingleKinds.begin(), kSingleKinds.end(), kinds[t]) - kSingleKinds.begin();
      auto& file = single.at(size_t(at));
      file.line(conversation(conversation_id + "-q" + std::to_string(t), image, {turns[t]}, already_added));
      file.record();
    }
  };
  const auto train_popularity = shapes_by_popularity(train_scenes);
  for (int64_t i = 0; i < o.train_images; ++i) {
    const Scene& scene = train_scenes[size_t(i)];
    const std::string image = shapes_image_path(ShapesSplit::train, i);
    const fs::path file = root / "images" / image;
    write_bytes(file, encode_png(render_scene(scene), file));
    ++train_images.records;
    ++train_images.kinds[std::to_string(scene.objects.size()) + "_objects"];
    const std::string id = "train-" + image.substr(6, 6);

    auto caption_random = image_random(o, ShapesSplit::train, kCaptionStream, i);
    const std::string prompt = caption_random.chance(0.5) ? caption_prompts().front() : caption_random.pick(caption_prompts());
    captions.line(conversation(id + "-caption", image, {{prompt, describe_scene(scene)}}, corpus));
    captions.record();

    auto basic_random = image_random(o, ShapesSplit::train, kBasicStream, i);
    for (int64_t c = 0; c < o.basic_per_image; ++c) {
      std::vector<std::string> kinds;
      const auto turns = basic_conversation(scene, basic_random, basic, kinds);
      basic.line(conversation(id + "-basic-" + std::to_string(c), image, turns, corpus));
      basic.record();
      write_single(id + "-basic-" + std::to_string(c), image, turns, kinds);
    }

    auto adversarial_random = image_random(o, ShapesSplit::train, kAdversarialStream, i);
    for (int64_t c = 0; c < o.adversarial_per_image; ++c) {
      const auto turns = adversarial_conversation(scene, train_popularity, adversarial_random, adversarial);
      adversarial.line(conversation(id + "-adversarial-" + std::to_string(c), image, turns, corpus));
      adversarial.record();
      write_single(id + "-adversarial-" + std::to_string(c), image, turns,
                   std::vector<std::string>(turns.size(), "binding"));
    }
  }

  OutputFile text(root, "text.jsonl", "conversations");
  {
    auto conversations = text_conversations();
    PortableRandom random(derive_seed(o.seed, split_stream(ShapesSplit::train, kTextStream), 0));
    random.shuffle(conversations);
    for (size_t i = 0; i < conversations.size(); ++i) {
      char id[32];
      std::snprintf(id, sizeof(id), "text-%04zu", i);
      text.line(conversation(id, "", conversations[i], corpus));
      text.record(conversations[i].size() > 1 ? "multi_turn" : "single_turn");
    }
  }

  // Evaluation files: questions about eval images only.
  const std::vector<PopeSplit> pope_splits{PopeSplit::random, PopeSplit::popular, PopeSplit::adversarial};
  std::vector<OutputFile> pope;
  pope.reserve(pope_splits.size());
  for (PopeSplit split : pope_splits) pope.emplace_back(root, "eval/pope_" + pope_split_name(split) + ".jsonl", "questions");
  OutputFile mmbench(root, "eval/mmbench.tsv", "questions");
  OutputFile vqa(root, "eval/vqa.jsonl", "questions");
  mmbench.line("index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage");
  std::map<std::string, std::map<std::string, int64_t>> answers;  // per eval kind, for majority baselines
  const auto eval_popularity = shapes_by_popularity(eval_scenes);
  for (int64_t i = 0; i < o.eval_images; ++i) {
    const Scene& scene = eval_scenes[size_t(i)];
    const std::string image = shapes_image_path(ShapesSplit::eval, i);
    const fs::path file = root / "images" / image;
    const auto png = encode_png(render_scene(scene), file);
    write_bytes(file, png);
    ++eval_images.records;
    ++eval_images.kinds[std::to_string(scene.objects.size()) + "_objects"];

    for (size_t s = 0; s < pope_splits.size(); ++s) {
      auto random = image_random(o, ShapesSplit::eval, kPopeStream + s, i);
      for (const auto& q : pope_questions(scene, pope_splits[s], eval_popularity, kPopeMaxPerAnswer, random)) {
        pope[s].record(q.answer);
        answers["pope_" + pope_split_name(pope_splits[s])][q.answer]++;
        pope[s].line(ordered_json{{"question_id", pope[s].records()}, {"image", image}, {"text", q.text}, {"label", q.answer}}.dump());
      }
    }

    auto vqa_random = image_random(o, ShapesSplit::eval, kVqaStream, i);
    const std::vector<std::optional<Question>> vqa_questions{colour_question(scene, vqa_random, false),
                                                             counting_question(scene, vqa_random, false),
                                                             position_question(scene, vqa_random, false)};
    for (const auto& q : vqa_questions) {
      if (!q) continue;
      vqa.record(q->kind);
      answers["vqa_" + q->kind][q->answer]++;
      vqa.line(ordered_json{{"question_id", vqa.records()},
                    {"image", image},
                    {"text", q->text},
                    {"answer", q->answer},
                    {"category", q->kind}}
                   .dump());
    }

    // MMBench's TSV layout; no field holds a tab or a line break.
    auto choice_random = image_random(o, ShapesSplit::eval, kMmbenchStream, i);
    if (const auto q = choice_question(scene, choice_random)) {
      const int64_t index = mmbench.records();
      mmbench.record(q->category);
      answers["mmbench"][q->answer]++;
      std::string row = std::to_string(index) + "\t" + q->text + "\t";  // empty hint
      for (const auto& option : q->options) row += "\t" + option;
      mmbench.line(row + "\t" + q->answer + "\t" + q->category + "\t" + base64(png));
    }
  }

  ShapesDatasetSummary summary;
  summary.files = {train_images, eval_images, captions.close(), basic.close(), adversarial.close()};
  for (auto& file : single) summary.files.push_back(file.close());
  summary.files.push_back(text.close());
  for (auto& file : pope) summary.files.push_back(file.close());
  summary.files.push_back(mmbench.close());
  summary.files.push_back(vqa.close());
  summary.files.push_back(corpus_file.close());

  ordered_json files = ordered_json::object();
  for (const auto& f : summary.files) {
    ordered_json kinds = ordered_json::object();
    for (const auto& [kind, n] : f.kinds) kinds[kind] = n;
    files[f.path] = ordered_json{{"unit", f.unit}, {"records", f.records}, {"kinds", kinds}};
  }
  // Chance: a uniform guess among the possible answers. Majority: always giving the most
  // frequent answer of these files. A model must beat both to have learnt anything.
  const ordered_json chance{{"pope_random", 0.5},  {"pope_popular", 0.5}, {"pope_adversarial", 0.5}, {"mmbench", 0.25},
                    {"vqa_colour", 1.0 / kNumColours}, {"vqa_counting", 1.0 / (kMaxObjects + 1)}, {"vqa_position", 0.25}};
  ordered_json majority = ordered_json::object();
  for (const auto& [kind, counts] : answers) majority[kind] = majority_share(counts);
  ordered_json meta{{"name", kDatasetName},
            {"generator_version", kShapesGeneratorVersion},
            {"seed", o.seed},
            {"image_size", o.image_size},
            {"train_images", o.train_images},
            {"eval_images", o.eval_images},
            {"basic_per_image", o.basic_per_image},
            {"adversarial_per_image", o.adversarial_per_image},
            {"image_folder", "images"},
            {"vocabulary", vocabulary_json()},
            {"instructions", {{"short_answer", kShortAnswerInstruction}, {"multiple_choice", kOptionLetterInstruction}}},
            {"files", files},
            {"chance", chance},
            {"majority", majority}};
  const fs::path meta_path = root / "dataset.json";
  std::ofstream out(meta_path, std::ios::binary);
  out << meta.dump(2) << '\n';
  out.close();
  if (out.fail()) write_failed(meta_path);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

void make_shapes_dataset_and_tokenizer(const ShapesDatasetOptions& options, int64_t tokenizer_vocab,
                                       const std::string& template_name) {
  const auto summary = make_shapes_dataset(options);
  spdlog::info("shapes dataset in {} ({} px images, seed {}), {:.1f} s:", options.out_dir, options.image_size,
               options.seed, summary.seconds);
  for (const auto& file : summary.files) {
    std::string kinds;
    for (const auto& [kind, n] : file.kinds) kinds += fmt::format(" {}={}", kind, n);
    spdlog::info("  {:<28} {:>7} {:<13}{}", file.path, file.records, file.unit, kinds);
  }
  // The image token first, so it gets the first id after <unk> <s> </s> <pad>: id 4.
  const auto chat = chat_template(template_name);
  std::vector<std::string> symbols{chat.image_token()};
  for (const auto& marker : chat.markers) {
    if (marker != chat.bos && marker != chat.eos && marker != chat.image_token()) symbols.push_back(marker);
  }
  const auto prefix = options.out_dir + "/tokenizer";
  train_sentencepiece(options.out_dir + "/corpus.txt", prefix, tokenizer_vocab, symbols, options.seed);
  const auto tokenizer = Tokenizer::load(prefix + ".model", chat.special_tokens());
  spdlog::info("  {:<28} {:>7} tokens       image token '{}' = id {}", "tokenizer.model", tokenizer.vocab_size(),
               chat.image_token(), tokenizer.token_id(chat.image_token()));
}

}  // namespace trol
