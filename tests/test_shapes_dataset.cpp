// The built-in shapes dataset: determinism, file formats, and answers that match the scenes.
#include "tests/catch.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "data/image_ops.h"
#include "tokenizer_fixture.h"
#include "data/shapes_dataset.h"
#include "data/shapes_questions.h"

namespace test_shapes_dataset {

using namespace trol;
using test::TempDir;
using namespace trol::shapes;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> records;
  for (const auto& line : read_lines(path)) records.push_back(json::parse(line));
  return records;
}

// Every regular file under `root`, relative path -> contents.
std::map<std::string, std::string> all_files(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files[fs::relative(entry.path(), root).string()] = test::read_bytes(entry.path());
  }
  return files;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.push_back("");
  return parts;
}

std::vector<uint8_t> base64_decode(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const auto v = alphabet.find(c);
    REQUIRE(v != std::string::npos);
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

template <class T>
T parse_name(const std::string& word, const std::vector<T>& values, std::string (*name)(T)) {
  for (T v : values) {
    if (name(v) == word) return v;
  }
  FAIL("unknown word '" << word << "'");
  return values.front();
}
Shape shape_of(const std::string& w) { return parse_name(w, all_shapes(), shape_name); }
Shape shape_of_plural(const std::string& w) { return parse_name(w, all_shapes(), shape_plural); }
Colour colour_of(const std::string& w) { return parse_name(w, all_colours(), colour_name); }
int cell_of(const std::string& w) {
  for (int cell = 0; cell < kNumCells; ++cell) {
    if (cell_name(cell) == w) return cell;
  }
  FAIL("unknown position '" << w << "'");
  return -1;
}

// The one object of the scene called "<colour> <shape>" (must be unique to be asked about).
const SceneObject& named_object(const Scene& scene, const std::string& name) {
  const auto words = split(name, ' ');
  REQUIRE(words.size() == 2);
  const Colour c = colour_of(words[0]);
  const Shape s = shape_of(words[1]);
  REQUIRE(scene.count(c, s) == 1);
  for (const auto& o : scene.objects) {
    if (o.colour == c && o.shape == s) return o;
  }
  FAIL("unreachable");
  return scene.objects.front();
}

std::string yes_no(bool yes) { return yes ? "Yes" : "No"; }

// Re-derives the answer of any question the templates ask from the scene itself, by parsing
// the question; fails on a question no template produces, so every template is covered.
void check_answer(const Scene& scene, std::string prompt, const std::string& answer) {
  INFO("question: " << prompt << "\nanswer: " << answer);
  if (prompt.rfind("<image>\n", 0) == 0) prompt = prompt.substr(8);
  const std::string short_suffix = "\n" + kShortAnswerInstruction;
  if (prompt.size() > short_suffix.size() && prompt.substr(prompt.size() - short_suffix.size()) == short_suffix) {
    prompt.resize(prompt.size() - short_suffix.size());
  }
  std::smatch m;
  const auto lines = split(prompt, '\n');
  if (lines.size() == 6) {  // multiple choice: question, A-D, instruction
    CHECK(lines[5] == kOptionLetterInstruction);
    REQUIRE(answer.size() == 1);
    REQUIRE(answer[0] >= 'A');
    REQUIRE(answer[0] <= 'D');
    std::vector<std::string> options;
    for (int i = 0; i < 4; ++i) {
      REQUIRE(lines[size_t(1 + i)].substr(0, 3) == std::string(1, char('A' + i)) + ". ");
      options.push_back(lines[size_t(1 + i)].substr(3));
    }
    CHECK(std::set<std::string>(options.begin(), options.end()).size() == 4);
    const std::string chosen = options[size_t(answer[0] - 'A')];
    if (std::regex_match(lines[0], m, std::regex("Which shape is (\\w+)\\?"))) {
      const Colour c = colour_of(m[1]);
      CHECK(scene.count(c) > 0);
      CHECK(scene.count(c, shape_of(chosen)) == scene.count(c));
    } else if (std::regex_match(lines[0], m, std::regex("What colour is the (\\w+)\\?"))) {
      const Shape s = shape_of(m[1]);
      REQUIRE(scene.count(s) == 1);
      CHECK(scene.count(colour_of(chosen), s) == 1);
    } else if (std::regex_match(lines[0], m, std::regex("Where is the (\\w+ \\w+)\\?"))) {
      CHECK(cell_name(named_object(scene, m[1]).cell) == chosen);
    } else {
      FAIL("no template for this multiple-choice question");
    }
    return;
  }
  REQUIRE(lines.size() == 1);
  const std::string& q = lines[0];
  if (std::regex_match(q, m, std::regex("(?:Is there a|Can you see a|Does the image contain a) ((?:\\w+ )?\\w+)"
                                        "(?: in the image| in this picture)?\\?"))) {
    const auto words = split(m[1], ' ');  // "circle" or "blue circle"
    const int n = words.size() == 2 ? scene.count(colour_of(words[0]), shape_of(words[1])) : scene.count(shape_of(words[0]));
    CHECK(answer == yes_no(n > 0));
  } else if (std::regex_match(q, m, std::regex("(?:What colour is|What is the colour of|Which colour is) the (\\w+)\\?"))) {
    const Shape s = shape_of(m[1]);
    REQUIRE(scene.count(s) == 1);
    const auto it = std::find_if(scene.objects.begin(), scene.objects.end(), [&](const SceneObject& o) { return o.shape == s; });
    CHECK(answer == capitalized(colour_name(it->colour)));
  } else if (std::regex_match(q, std::regex("How many (?:objects are there|objects are in the image|shapes can you see)\\?"))) {
    CHECK(answer == std::to_string(scene.objects.size()));
  } else if (std::regex_match(q, m, std::regex("How many (\\w+) (?:are there|are in the image|can you see)\\?"))) {
    CHECK(answer == std::to_string(scene.count(shape_of_plural(m[1]))));
  } else if (std::regex_match(q, m, std::regex("(?:Where is|Is) the (\\w+ \\w+) (?:relative to|compared to|left of, right "
                                               "of, above or below) the (\\w+ \\w+)\\?"))) {
    const auto& a = named_object(scene, m[1]);
    const auto& b = named_object(scene, m[2]);
    const int da = a.cell % 3 - b.cell % 3, dr = a.cell / 3 - b.cell / 3;
    REQUIRE((da == 0) != (dr == 0));  // same row or same column, never the same cell
    CHECK(answer == (dr == 0 ? (da < 0 ? "Left" : "Right") : (dr < 0 ? "Above" : "Below")));
    // And in pixels: the answer's axis dominates clearly.
    const int dx = std::abs(a.centre_x - b.centre_x), dy = std::abs(a.centre_y - b.centre_y);
    CHECK((dr == 0 ? dx > 2 * dy : dy > 2 * dx));
  } else if (std::regex_match(q, m, std::regex("(?:Where is|In which part of the image is) the (\\w+ \\w+)(?: in the image)?\\?"))) {
    CHECK(answer == capitalized(cell_name(named_object(scene, m[1]).cell)));
  } else {
    FAIL("no template for this question");
  }
}

// The objects a caption lists, as "colour shape cell" strings, against the scene's.
void check_caption(const Scene& scene, const std::string& caption) {
  INFO("caption: " << caption);
  std::multiset<std::string> said, there;
  const std::regex item("(\\w+) (\\w+) (?:at the|on the|in the) (top left|top right|bottom left|bottom right|"
                        "top|bottom|left|right|center)");
  int previous_shape = -1, previous_cell = -1;
  for (auto it = std::sregex_iterator(caption.begin(), caption.end(), item); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    said.insert(colour_name(colour_of(m[1])) + " " + shape_name(shape_of(m[2])) + " " + std::to_string(cell_of(m[3])));
    // Grouped by shape (circles first, crosses last), in reading order within a shape.
    const int shape = int(shape_of(m[2])), cell = cell_of(m[3]);
    CHECK((shape > previous_shape || (shape == previous_shape && cell > previous_cell)));
    previous_shape = shape;
    previous_cell = cell;
  }
  for (const auto& o : scene.objects) {
    there.insert(colour_name(o.colour) + " " + shape_name(o.shape) + " " + std::to_string(o.cell));
  }
  CHECK(said == there);
}

// "train/000012.png" -> 12
int64_t image_index(const std::string& path) { return std::stoll(path.substr(path.find('/') + 1, 6)); }

ShapesDatasetOptions small_options(const fs::path& out, uint64_t seed, int64_t train = 60, int64_t eval = 30) {
  ShapesDatasetOptions o;
  o.out_dir = out.string();
  o.seed = seed;
  o.train_images = train;
  o.eval_images = eval;
  return o;
}

}  // namespace

TEST_CASE("the same seed gives byte-identical files, another seed other files", "[shapes]") {
  TempDir a("shapes_a"), b("shapes_b"), c("shapes_c");
  make_shapes_dataset(small_options(a.path(), 5));
  make_shapes_dataset(small_options(b.path(), 5));
  make_shapes_dataset(small_options(c.path(), 6));
  const auto files_a = all_files(a.path()), files_b = all_files(b.path()), files_c = all_files(c.path());
  CHECK(files_a.size() == 60 + 30 + 6 + 7 + 5);  // images, 6 files, 7 single-question files, 5 eval files
  REQUIRE(files_a.size() == files_b.size());
  for (const auto& [path, bytes] : files_a) {
    INFO(path);
    CHECK(files_b.at(path) == bytes);
  }
  CHECK(files_c.at("captions.jsonl") != files_a.at("captions.jsonl"));
  CHECK(files_c.at("images/train/000000.png") != files_a.at("images/train/000000.png"));
  CHECK(files_c.at("eval/pope_random.jsonl") != files_a.at("eval/pope_random.jsonl"));
}

TEST_CASE("every answer, caption and POPE label agrees with the scene", "[shapes]") {
  TempDir dir("shapes_answers");
  const auto options = small_options(dir.path(), 11, 300, 150);
  const auto summary = make_shapes_dataset(options);
  auto scene = [&](const std::string& image) {
    const ShapesSplit split = image.rfind("train/", 0) == 0 ? ShapesSplit::train : ShapesSplit::eval;
    return shapes_dataset_scene(options.seed, split, image_index(image), options.image_size);
  };

  size_t multi_turn_questions = 0, single_questions = 0;
  const std::vector<std::string> files{"captions.jsonl",          "instruct_basic.jsonl",    "instruct_adversarial.jsonl",
                                       "single/existence.jsonl",  "single/colour.jsonl",     "single/counting.jsonl",
                                       "single/position.jsonl",   "single/location.jsonl",   "single/choice.jsonl",
                                       "single/binding.jsonl"};
  for (const auto& file : files) {
    INFO(file);
    const auto records = read_jsonl(dir.path() / file);
    const bool single = file.rfind("single/", 0) == 0;
    if (single) {
      single_questions += records.size();
      CHECK(!records.empty());
    } else {
      CHECK(records.size() == size_t(file == "instruct_basic.jsonl" ? 600 : 300));
    }
    for (const auto& r : records) {
      REQUIRE(r["id"].is_string());
      const std::string image = r["image"];
      REQUIRE(image.rfind("train/", 0) == 0);  // training files use training images only
      const auto& turns = r["conversations"];
      REQUIRE(turns.size() % 2 == 0);
      REQUIRE(!turns.empty());
      if (single) CHECK(turns.size() == 2);
      if (file == "instruct_basic.jsonl" || file == "instruct_adversarial.jsonl") multi_turn_questions += turns.size() / 2;
      const Scene s = scene(image);
      for (size_t i = 0; i < turns.size(); i += 2) {
        CHECK(turns[i]["from"] == "human");
        CHECK(turns[i + 1]["from"] == "gpt");
        const std::string human = turns[i]["value"];
        CHECK((human.rfind("<image>\n", 0) == 0) == (i == 0));  // the image once, at the start
        if (file == "captions.jsonl") {
          check_caption(s, turns[i + 1]["value"]);
        } else {
          check_answer(s, human, turns[i + 1]["value"]);
        }
      }
    }
  }
  CHECK(single_questions == multi_turn_questions);  // every question of the conversations, alone
  for (const auto& r : read_jsonl(dir.path() / "text.jsonl")) {
    CHECK(!r.contains("image"));
    CHECK(r["conversations"][0]["value"].get<std::string>().find("<image>") == std::string::npos);
  }

  int64_t vqa_questions = 0;
  for (const auto& r : read_jsonl(dir.path() / "eval/vqa.jsonl")) {
    CHECK(r["question_id"] == ++vqa_questions);
    const std::string image = r["image"];
    REQUIRE(image.rfind("eval/", 0) == 0);  // evaluation files use evaluation images only
    const std::set<std::string> categories{"colour", "counting", "position"};
    CHECK(categories.count(r["category"]) == 1);
    check_answer(scene(image), r["text"], r["answer"]);
  }
  CHECK(vqa_questions > 150);

  // MMBench: the TSV layout, options in the columns, the image inlined as base64 PNG.
  const auto rows = read_lines(dir.path() / "eval/mmbench.tsv");
  REQUIRE(rows.size() > 100);
  CHECK(rows[0] == "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage");
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto f = split(rows[i], '\t');
    REQUIRE(f.size() == 10);
    CHECK(f[0] == std::to_string(i - 1));
    CHECK(f[2].empty());
    const std::set<std::string> categories{"attribute_recognition", "object_localization"};
    CHECK(categories.count(f[8]) == 1);
    const auto png = base64_decode(f[9]);
    const cv::Mat image = decode_rgb(png, "mmbench row " + f[0]);
    // The row's image is one of the eval images: find it by content.
    bool found = false;
    for (int64_t k = 0; k < options.eval_images && !found; ++k) {
      if (test::read_bytes(dir.path() / "images" / shapes_image_path(ShapesSplit::eval, k)) ==
          std::string(png.begin(), png.end())) {
        found = true;
        check_answer(scene(shapes_image_path(ShapesSplit::eval, k)),
                     f[1] + "\nA. " + f[3] + "\nB. " + f[4] + "\nC. " + f[5] + "\nD. " + f[6] + "\n" + kOptionLetterInstruction,
                     f[7]);
      }
    }
    CHECK(found);
    CHECK(image.cols == options.image_size);
  }

  // dataset.json counts what the files hold.
  const auto meta = json::parse(test::read_bytes(dir.path() / "dataset.json"));
  CHECK(meta["seed"] == 11);
  CHECK(meta["generator_version"] == kShapesGeneratorVersion);
  CHECK(meta["files"]["eval/vqa.jsonl"]["records"] == vqa_questions);
  CHECK(meta["files"]["eval/mmbench.tsv"]["records"] == int64_t(rows.size() - 1));
  CHECK(meta["vocabulary"]["shapes"].size() == 4);
  CHECK(meta["chance"]["pope_adversarial"] == 0.5);
  for (const auto& f : summary.files) {
    if (f.path.find(".jsonl") != std::string::npos) CHECK(f.records == int64_t(read_lines(dir.path() / f.path).size()));
  }
}

TEST_CASE("POPE splits are balanced and their negatives are of the promised kind", "[shapes]") {
  TempDir dir("shapes_pope");
  const auto options = small_options(dir.path(), 3, 20, 200);
  make_shapes_dataset(options);
  std::vector<Scene> scenes;
  for (int64_t i = 0; i < options.eval_images; ++i) {
    scenes.push_back(shapes_dataset_scene(options.seed, ShapesSplit::eval, i, options.image_size));
  }
  // Popularity, counted here independently: images containing each shape.
  std::map<Shape, int> images_with;
  for (const auto& s : scenes) {
    for (Shape shape : all_shapes()) images_with[shape] += s.count(shape) > 0;
  }
  CHECK(images_with[Shape::circle] > images_with[Shape::cross]);  // the skewed frequencies show

  std::map<std::string, std::vector<json>> splits;
  for (const char* split : {"random", "popular", "adversarial"}) {
    const auto records = read_jsonl(dir.path() / ("eval/pope_" + std::string(split) + ".jsonl"));
    int yes = 0, no = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      INFO(split << ": " << r.dump());
      CHECK(r["question_id"] == int64_t(i + 1));
      const std::string image = r["image"], text = r["text"], label = r["label"];
      REQUIRE(image.rfind("eval/", 0) == 0);
      const Scene& s = scenes[size_t(image_index(image))];
      (label == "yes" ? yes : no)++;
      REQUIRE((label == "yes" || label == "no"));
      std::smatch m;
      if (std::string(split) == "adversarial") {
        REQUIRE(std::regex_match(text, m, std::regex("Is there a (\\w+) (\\w+) in the image\\?")));
        const Colour c = colour_of(m[1]);
        const Shape shape = shape_of(m[2]);
        if (label == "yes") {
          CHECK(s.count(c, shape) > 0);
        } else {  // a binding negative: colour and shape both there, never together
          CHECK(s.count(c) > 0);
          CHECK(s.count(shape) > 0);
          CHECK(s.count(c, shape) == 0);
        }
      } else {
        REQUIRE(std::regex_match(text, m, std::regex("Is there a (\\w+) in the image\\?")));
        const Shape shape = shape_of(m[1]);
        CHECK((s.count(shape) > 0) == (label == "yes"));
        if (std::string(split) == "popular" && label == "no") {
          // No absent shape is more popular than the one asked about, unless it is asked too.
          for (Shape other : all_shapes()) {
            if (s.count(other) == 0 && images_with[other] > images_with[shape]) {
              const std::string other_text = existence_text(other);
              CHECK(std::any_of(records.begin(), records.end(),
                                [&](const json& q) { return q["image"] == image && q["text"] == other_text; }));
            }
          }
        }
      }
    }
    CHECK(yes == no);
    CHECK(yes > 100);
    splits[split] = records;
  }
  CHECK(splits["random"] != splits["popular"]);
}

TEST_CASE("scenes render as described: colours at the centres, objects inside their cells", "[shapes]") {
  TempDir dir("shapes_render");
  const auto options = small_options(dir.path(), 2, 40, 10);
  make_shapes_dataset(options);
  for (int64_t i = 0; i < options.train_images; ++i) {
    const Scene s = shapes_dataset_scene(options.seed, ShapesSplit::train, i, options.image_size);
    REQUIRE(!s.objects.empty());
    REQUIRE(s.objects.size() <= size_t(kMaxObjects));
    // The PNG on disk, through the real loader, holds RGB content.
    const cv::Mat image = load_rgb((dir.path() / "images" / shapes_image_path(ShapesSplit::train, i)).string());
    REQUIRE(image.size() == cv::Size(int(options.image_size), int(options.image_size)));
    std::set<int> cells;
    for (const auto& o : s.objects) {
      const auto rgb = colour_rgb(o.colour);
      CHECK(image.at<cv::Vec3b>(o.centre_y, o.centre_x) == cv::Vec3b(rgb[0], rgb[1], rgb[2]));
      // The whole object lies inside its own cell of the 3x3 grid, so objects never overlap.
      const int cell_size = int(options.image_size) / 3;
      const int col = o.cell % 3, row = o.cell / 3;
      CHECK(o.centre_x - o.radius >= col * cell_size);
      CHECK(o.centre_x + o.radius < (col + 1) * cell_size);
      CHECK(o.centre_y - o.radius >= row * cell_size);
      CHECK(o.centre_y + o.radius < (row + 1) * cell_size);
      CHECK(cells.insert(o.cell).second);
    }
    // Objects keep a pixel of margin inside their cells, so the corners show the light
    // background: every channel in [195, 240], +-6 of gradient.
    const int last = int(options.image_size) - 1;
    for (const cv::Point corner : {cv::Point(0, 0), cv::Point(last, 0), cv::Point(0, last), cv::Point(last, last)}) {
      const auto& px = image.at<cv::Vec3b>(corner);
      CHECK(std::min({px[0], px[1], px[2]}) >= 189);
      CHECK(std::max({px[0], px[1], px[2]}) <= 246);
    }
  }
  // Training and evaluation images are different pictures.
  std::set<std::string> train_pngs;
  for (int64_t i = 0; i < options.train_images; ++i) {
    train_pngs.insert(test::read_bytes(dir.path() / "images" / shapes_image_path(ShapesSplit::train, i)));
  }
  for (int64_t i = 0; i < options.eval_images; ++i) {
    CHECK(train_pngs.count(test::read_bytes(dir.path() / "images" / shapes_image_path(ShapesSplit::eval, i))) == 0);
  }
}

TEST_CASE("shapes differ in how much of their box they fill", "[shapes]") {
  // The design that lets a vision encoder trained from scratch for minutes tell shapes apart
  // (data/shapes_scene.h): object pixels counted on a white 48-pixel scene, one object each.
  auto filled = [](Shape shape) {
    PortableRandom random(1);
    Scene scene = sample_scene(random, 48);
    scene.background = {255, 255, 255};
    scene.gradient = 0;
    scene.objects.resize(1);
    auto& o = scene.objects[0];
    o.shape = shape;
    o.colour = Colour::blue;
    o.cell = 4;
    o.centre_x = o.centre_y = 24;
    o.radius = 6;
    const cv::Mat image = render_scene(scene);
    int count = 0;
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) count += image.at<cv::Vec3b>(y, x)[0] < 200;  // red channel: blue is 40
    return count;
  };
  const int square = filled(Shape::square), circle = filled(Shape::circle), triangle = filled(Shape::triangle),
            cross = filled(Shape::cross);
  CHECK(square == 13 * 13);
  CHECK(cross == 2 * 13 - 1);  // two 1-pixel bars
  CHECK(square > circle);
  CHECK(circle > triangle);
  CHECK(triangle > cross);
}

TEST_CASE("the training mix is balanced where it should be, and the corpus covers its text", "[shapes]") {
  TempDir dir("shapes_mix");
  make_shapes_dataset(small_options(dir.path(), 9, 400, 10));
  int yes = 0, no = 0;
  std::set<std::string> texts;
  for (const char* file : {"captions.jsonl", "instruct_basic.jsonl", "instruct_adversarial.jsonl", "text.jsonl"}) {
    for (const auto& r : read_jsonl(dir.path() / file)) {
      for (const auto& turn : r["conversations"]) {
        const std::string value = turn["value"];
        for (const auto& line : split(value, '\n')) {
          if (line != "<image>") texts.insert(line);
        }
        if (file == std::string("instruct_adversarial.jsonl") && turn["from"] == "gpt") (value == "Yes" ? yes : no)++;
      }
    }
  }
  CHECK(yes + no > 500);
  CHECK(double(yes) / (yes + no) == Approx(0.5).margin(0.06));
  const auto corpus = read_lines(dir.path() / "corpus.txt");
  const std::set<std::string> corpus_lines(corpus.begin(), corpus.end());
  CHECK(corpus_lines == texts);
  CHECK(corpus_lines.count(kShortAnswerInstruction) == 1);
  CHECK(corpus_lines.count(kOptionLetterInstruction) == 1);
}

TEST_CASE("bad options and unusable output folders are clear errors", "[shapes]") {
  TempDir dir("shapes_bad");
  auto options = small_options(dir.path() / "out", 1, 5, 5);
  options.train_images = 0;
  CHECK_THROWS_WITH(make_shapes_dataset(options), ContainsSubstring("train_images"));
  options.train_images = 5;
  options.image_size = 8;
  CHECK_THROWS_WITH(make_shapes_dataset(options), ContainsSubstring("image_size"));
  options.image_size = 48;
  options.out_dir = "";
  CHECK_THROWS_WITH(make_shapes_dataset(options), ContainsSubstring("out_dir"));

  // A folder that cannot be created (its parent is a file).
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "file").put('x');
  options.out_dir = (dir.path() / "file" / "out").string();
  CHECK_THROWS_WITH(make_shapes_dataset(options), ContainsSubstring(options.out_dir));

  // Not empty: refused, unless --force and it is an earlier shapes dataset.
  options.out_dir = (dir.path() / "out").string();
  make_shapes_dataset(options);
  CHECK_THROWS_WITH(make_shapes_dataset(options), ContainsSubstring("not empty"));
  options.overwrite = true;
  options.train_images = 3;
  make_shapes_dataset(options);
  CHECK(!fs::exists(dir.path() / "out" / "images" / "train" / "000004.png"));  // the earlier run's extra images went
  CHECK(fs::exists(dir.path() / "out" / "images" / "train" / "000002.png"));
  options.out_dir = dir.path().string();  // holds "file" and "out" but no dataset.json
  CHECK_THROWS_WITH(make_shapes_dataset(options), ContainsSubstring("refusing"));
  CHECK(fs::exists(dir.path() / "file"));
}

}  // namespace test_shapes_dataset
