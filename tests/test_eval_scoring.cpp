// Benchmark readers (POPE, VQA, MMBench TSV) and answer scoring, on fixture files written here
// and expectations worked out by hand.
#include "tests/catch.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "eval/answer_scoring.h"
#include "eval/builtin_benchmarks.h"

namespace test_eval_scoring {

using namespace trol;
namespace fs = std::filesystem;

namespace {

// A fresh dataset folder laid out like the built-in dataset (eval/, images/eval/), removed after.
class DatasetFolder {
 public:
  DatasetFolder() {
    std::random_device random;
    root_ = fs::temp_directory_path() / ("trol_eval_test_" + std::to_string(random()));
    fs::create_directories(root_ / "eval");
    fs::create_directories(root_ / "images" / "eval");
  }
  ~DatasetFolder() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  std::string write(const std::string& relative, const std::string& content) const {
    std::ofstream(root_ / relative, std::ios::binary) << content;
    return (root_ / relative).string();
  }
  // An (empty) image file: the readers only check that it exists.
  void add_image(const std::string& name) const { write("images/" + name, ""); }
  std::string images() const { return (root_ / "images").string(); }
  std::string path(const std::string& relative) const { return (root_ / relative).string(); }

 private:
  fs::path root_;
};

std::vector<std::string> problems_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const BenchmarkFileError& e) {
    return e.problems;
  }
  return {};
}

const std::string kShort = "\nAnswer the question using a single word or phrase.";
const std::string kLetter = "\nAnswer with the option's letter from the given choices directly.";

}  // namespace

TEST_CASE("POPE questions are read with their split, label and image", "[eval_scoring]") {
  DatasetFolder dir;
  dir.add_image("eval/000012.png");
  dir.add_image("eval/000013.png");
  const auto file = dir.write("eval/pope_random.jsonl",
                              "{\"question_id\": 3, \"image\": \"eval/000012.png\", \"text\": \"Is there a triangle in the image?\", \"label\": \"yes\"}\n"
                              "\n"
                              "{\"question_id\": \"q4\", \"image\": \"eval/000013.png\", \"text\": \"Is there a circle in the image?\", \"label\": \"No\"}\r\n");
  const auto items = read_pope(file, dir.images(), "random");
  REQUIRE(items.size() == 2);
  CHECK(items[0].benchmark == "pope_random");
  CHECK(items[0].kind == "random");
  CHECK(items[0].id == "3");
  CHECK(items[0].question == "Is there a triangle in the image?" + kShort);
  CHECK(items[0].answer == "yes");
  CHECK(items[0].image_path == fs::absolute(dir.path("images/eval/000012.png")).lexically_normal().string());
  CHECK(fs::path(items[0].image_path).is_absolute());
  CHECK(items[0].image_bytes.empty());
  CHECK(items[0].options.empty());
  CHECK(items[1].id == "q4");
  CHECK(items[1].answer == "no");

  // A question file that already carries LLaVA's instruction is not given it twice.
  const auto with_instruction = dir.write(
      "eval/pope_popular.jsonl",
      "{\"question_id\": 1, \"image\": \"eval/000012.png\", \"text\": \"Is there a dog?" + std::string("\\n") +
          "Answer the question using a single word or phrase.\", \"label\": \"no\"}\n");
  CHECK(read_pope(with_instruction, dir.images(), "popular")[0].question == "Is there a dog?" + kShort);
}

TEST_CASE("bad POPE lines are reported with file:line, all of them, without crashing", "[eval_scoring]") {
  DatasetFolder dir;
  dir.add_image("eval/1.png");
  const auto file = dir.write("eval/pope_adversarial.jsonl",
                              "{\"question_id\": 1, \"image\": \"eval/1.png\", \"text\": \"Is there a cat?\", \"label\": \"yes\"}\n"
                              "{\"question_id\": 2, \"image\": \"eval/1.png\", \"text\": \"Is there\n"
                              "{\"question_id\": 3, \"image\": \"eval/1.png\", \"text\": \"Is there a dog?\"}\n"
                              "{\"question_id\": 4, \"image\": \"eval/1.png\", \"text\": \"Is there a dog?\", \"label\": \"maybe\"}\n"
                              "{\"question_id\": 5, \"image\": \"eval/404.png\", \"text\": \"Is there a dog?\", \"label\": \"no\"}\n"
                              "{\"question_id\": 1, \"image\": \"eval/1.png\", \"text\": \"Is there a cow?\", \"label\": \"no\"}\n"
                              "[1, 2]\n"
                              "{\"question_id\": 1.5, \"image\": 7, \"text\": \"\", \"label\": \"no\"}\n");
  const auto problems = problems_of([&] { read_pope(file, dir.images(), "adversarial"); });
  const std::vector<std::string> expected{
      file + ":2: not valid JSON",
      file + ":3: missing field 'label'",
      file + ":4: label must be \"yes\" or \"no\", got \"maybe\"",
      file + ":5: image 'eval/404.png' not found (looked for " +
          fs::absolute(dir.path("images/eval/404.png")).lexically_normal().string() + ")",
      file + ":6: id 1 repeats the id of line 1",
      file + ":7: expected a JSON object, got array",
      file + ":8: field 'question_id' must be a string or integer, got number",
      file + ":8: field 'image' must be a string, got number",
      file + ":8: field 'text' is empty",
  };
  CHECK(problems == expected);
  CHECK_THROWS_WITH(read_pope(file, dir.images(), "adversarial"),
                    ContainsSubstring("9 problems") && ContainsSubstring(file + ":2: not valid JSON"));

  const auto missing = dir.path("eval/pope_nowhere.jsonl");
  CHECK_THROWS_WITH(read_pope(missing, dir.images(), "random"), ContainsSubstring(missing) && ContainsSubstring("cannot open"));
}

TEST_CASE("VQA questions keep their category as the kind", "[eval_scoring]") {
  DatasetFolder dir;
  dir.add_image("eval/000003.png");
  const auto file = dir.write("eval/vqa.jsonl",
                              "{\"question_id\": 7, \"image\": \"eval/000003.png\", \"text\": \"What colour is the circle?\", \"answer\": \"red\", \"category\": \"colour\"}\n"
                              "{\"question_id\": 8, \"image\": \"eval/000003.png\", \"text\": \"How many squares are there?\", \"answer\": \"2\", \"category\": \"counting\"}\n");
  const auto items = read_vqa(file, dir.images());
  REQUIRE(items.size() == 2);
  CHECK(items[0].benchmark == "vqa");
  CHECK(items[0].kind == "colour");
  CHECK(items[0].id == "7");
  CHECK(items[0].question == "What colour is the circle?" + kShort);
  CHECK(items[0].answer == "red");
  CHECK(items[1].kind == "counting");

  const auto bad = dir.write("eval/vqa_bad.jsonl",
                             "{\"question_id\": 9, \"image\": \"eval/000003.png\", \"text\": \"What colour?\", \"category\": \"colour\"}\n"
                             "{\"question_id\": 10, \"image\": \"eval/000003.png\", \"text\": \"What colour?\", \"answer\": [\"red\"], \"category\": \"colour\"}\n"
                             "not json at all\n");
  CHECK(problems_of([&] { read_vqa(bad, dir.images()); }) ==
        std::vector<std::string>{bad + ":1: missing field 'answer'", bad + ":2: field 'answer' must be a string, got array",
                                 bad + ":3: not valid JSON"});
  CHECK_THROWS_WITH(read_vqa(dir.path("eval/none.jsonl"), dir.images()), ContainsSubstring("none.jsonl"));
}

TEST_CASE("base64 decodes as RFC 4648 says and rejects what is not base64", "[eval_scoring]") {
  const auto text = [](const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); };
  CHECK(decode_base64("").empty());
  CHECK(text(decode_base64("TWFu")) == "Man");
  CHECK(text(decode_base64("TWE=")) == "Ma");
  CHECK(text(decode_base64("TQ==")) == "M");
  CHECK(text(decode_base64("TWFu\nTWE=\n")) == "ManMa");  // line-wrapped
  CHECK(decode_base64("iVBORw0KGgo=") == std::vector<uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  CHECK(decode_base64("+/+/") == std::vector<uint8_t>{0xfb, 0xff, 0xbf});
  CHECK_THROWS_WITH(decode_base64("TW!u"), ContainsSubstring("character '!' at offset 2"));
  CHECK_THROWS_WITH(decode_base64("TWE"), ContainsSubstring("bad padding"));
  CHECK_THROWS_WITH(decode_base64("TWFuT"), ContainsSubstring("truncated"));
  CHECK_THROWS_WITH(decode_base64("TQ=a"), ContainsSubstring("after '=' padding"));
  CHECK_THROWS_WITH(decode_base64("TQ==="), ContainsSubstring("bad padding"));
}

TEST_CASE("MMBench TSV rows become LLaVA's multiple-choice prompts", "[eval_scoring]") {
  DatasetFolder dir;
  const std::string png = "iVBORw0KGgo=";
  const std::string header = "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\n";
  const auto file = dir.write(
      "eval/mmbench.tsv",
      header +
          "0\tWhat shape is red?\tThe image shows shapes.\tcircle\tsquare\ttriangle\tstar\tB\tcolour\t" + png + "\n" +
          "1\tHow many circles?\t\t1\t2\t3\t\tC\tcounting\t" + png + "\n" +
          "2\tWhich side?\tnan\tleft\tright\t\t\tA\tposition\t" + png + "\r\n" +
          "3\tWhat is shown?\t\"A hint\nover two lines,\twith a tab and \"\"quotes\"\"\"\tyes\tno\t\t\tB\tother\t" + png +
          "\n");
  const auto items = read_mmbench_tsv(file);
  REQUIRE(items.size() == 4);
  CHECK(items[0].benchmark == "mmbench");
  CHECK(items[0].kind == "multiple_choice");
  CHECK(items[0].id == "0");
  CHECK(items[0].question ==
        "The image shows shapes.\nWhat shape is red?\nA. circle\nB. square\nC. triangle\nD. star" + kLetter);
  CHECK(items[0].answer == "B");
  CHECK(items[0].options == std::vector<std::string>{"circle", "square", "triangle", "star"});
  CHECK(items[0].image_bytes == std::vector<uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  CHECK(items[0].image_path.empty());
  // No hint: the question comes first; three options when D is empty.
  CHECK(items[1].question == "How many circles?\nA. 1\nB. 2\nC. 3" + kLetter);
  CHECK(items[1].options.size() == 3);
  // "nan" is pandas' empty cell, as LLaVA's is_none() reads it.
  CHECK(items[2].question == "Which side?\nA. left\nB. right" + kLetter);
  CHECK(items[3].question == "A hint\nover two lines,\twith a tab and \"quotes\"\nWhat is shown?\nA. yes\nB. no" + kLetter);
}

TEST_CASE("bad MMBench rows are reported with file:line", "[eval_scoring]") {
  DatasetFolder dir;
  const std::string png = "iVBORw0KGgo=";
  const std::string header = "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\n";
  const auto file = dir.write(
      "eval/mmbench.tsv",
      header +                                                                                       // line 1
          "0\tQ?\t\ta\tb\tc\td\tA\tx\n" +                                                             // 2: 9 fields
          "1\tQ?\t\"hint on\ntwo lines\"\ta\tb\t\t\tB\tx\t" + png + "\n" +                          // 3-4: fine
          "2\tQ?\t\ta\tb\t\t\tB\tx\tiVBOR*w0KGgo=\n" +                                                // 5: bad base64
          "3\tQ?\t\ta\tb\t\t\tE\tx\t" + png + "\n" +                                                  // 6: answer not an option
          "4\tQ?\t\ta\t\tc\t\tA\tx\t" + png + "\n" +                                                  // 7: gap in options
          "1\tQ?\t\ta\tb\t\t\tA\tx\t" + png + "\n" +                                                  // 8: repeated index
          "6\tQ?\t\ta\tb\t\t\tA\tx\t\n");                                                             // 9: no image
  const std::vector<std::string> expected{
      file + ":2: 9 fields, but the header has 10",
      file + ":5: image is not valid base64: character '*' at offset 5 is not base64",
      file + ":6: answer \"E\" is not the letter of one of the options",
      file + ":7: option C is given but option B is empty",
      file + ":8: id 1 repeats the id of line 3",
      file + ":9: empty image",
  };
  CHECK(problems_of([&] { read_mmbench_tsv(file); }) == expected);

  const auto no_answer_column = dir.write("eval/noanswer.tsv", "index\tquestion\tA\tB\timage\n0\tQ\ta\tb\t" + png + "\n");
  CHECK_THROWS_WITH(read_mmbench_tsv(no_answer_column), ContainsSubstring("noanswer.tsv:1: the header lacks the column(s) answer"));
  const auto open_quote = dir.write("eval/quote.tsv", header + "0\t\"Q?\ta\tb\t\t\tA\tx\t" + png + "\n");
  CHECK_THROWS_WITH(read_mmbench_tsv(open_quote), ContainsSubstring("quote.tsv:2: a quoted field opened here is never closed"));
  CHECK_THROWS_WITH(read_mmbench_tsv(dir.path("eval/missing.tsv")), ContainsSubstring("missing.tsv: cannot open"));
}

TEST_CASE("answers are normalised as the official VQA evaluation does", "[eval_scoring]") {
  CHECK(normalize_answer("Red") == "red");
  CHECK(normalize_answer("  red.  ") == "red");
  CHECK(normalize_answer("Two.") == "2");
  CHECK(normalize_answer("the red") == "red");
  CHECK(normalize_answer("An Apple") == "apple");
  CHECK(normalize_answer("none") == "0");
  CHECK(normalize_answer("ten") == "10");
  CHECK(normalize_answer("yes!") == "yes");
  CHECK(normalize_answer("Left\n") == "left");
  CHECK(normalize_answer("2.5") == "2.5");             // a period before a digit stays
  CHECK(normalize_answer("1,000") == "1000");          // digit,digit: punctuation is removed, not spaced
  CHECK(normalize_answer("red, blue") == "red blue");  // "," touches a space: removed
  CHECK(normalize_answer("red,blue") == "red blue");   // otherwise: replaced by a space
  CHECK(normalize_answer("top-left") == "top left");
  CHECK(normalize_answer("dont") == "don't");
  CHECK(normalize_answer("don't") == "don't");
  CHECK(normalize_answer("10:30") == "10:30");
  CHECK(normalize_answer("") == "");
  CHECK(vqa_match("Two.", "2"));
  CHECK(vqa_match("The Red", "red"));
  CHECK_FALSE(vqa_match("dark red", "red"));
}

TEST_CASE("option letters are read by MMBench's rules", "[eval_scoring]") {
  const std::vector<std::string> options{"cat", "dog", "bird"};
  CHECK(extract_option_letter("B", options) == "B");
  CHECK(extract_option_letter("B.", options) == "B");
  CHECK(extract_option_letter("(B)", options) == "B");
  CHECK(extract_option_letter("B) dog", options) == "B");
  CHECK(extract_option_letter("The answer is C.", options) == "C");
  CHECK(extract_option_letter("  C\n", options) == "C");
  // Letters are case-sensitive as in MMBench: "(b)" is no letter, and no option text either.
  CHECK(extract_option_letter("(b)", options) == "");
  // Option text, case-insensitive, when no letter stands alone.
  CHECK(extract_option_letter("dog", options) == "B");
  CHECK(extract_option_letter("It is a Dog.", options) == "B");
  // MMBench's quirk, kept: a capital article counts as the letter A.
  CHECK(extract_option_letter("A dog", options) == "A");
  // Ambiguous or unreadable: "".
  CHECK(extract_option_letter("A or B", options) == "");
  CHECK(extract_option_letter("a cat or a dog", options) == "");
  CHECK(extract_option_letter("D", options) == "");  // only three options
  CHECK(extract_option_letter("I cannot tell", options) == "");
  CHECK(extract_option_letter("", options) == "");
  CHECK(extract_option_letter("B", {}) == "");
}

TEST_CASE("per-kind accuracy matches a hand count", "[eval_scoring]") {
  const auto item = [](std::string benchmark, std::string kind, std::string answer, std::vector<std::string> options = {}) {
    EvalItem it;
    it.benchmark = std::move(benchmark);
    it.kind = std::move(kind);
    it.answer = std::move(answer);
    it.options = std::move(options);
    return it;
  };
  const std::vector<std::string> abc{"red", "green", "blue"};
  const std::vector<EvalItem> items{
      item("pope_random", "random", "yes"),         // "Yes, there is."    correct
      item("pope_random", "random", "no"),          // "Yes"               wrong
      item("pope_random", "random", "no"),          // "There is not."     correct
      item("pope_popular", "popular", "yes"),       // "No"                wrong
      item("vqa", "colour", "red"),                 // "Red."              correct
      item("vqa", "colour", "blue"),                // "dark blue"         wrong
      item("vqa", "counting", "2"),                 // "two"               correct
      item("mmbench", "multiple_choice", "C", abc), // "C"                 correct
      item("mmbench", "multiple_choice", "A", abc), // "The answer is B."  wrong
      item("mmbench", "multiple_choice", "B", abc), // "green"             correct (option text)
      item("mmbench", "multiple_choice", "A", abc), // "I don't know"      unparsable
  };
  const std::vector<std::string> predictions{"Yes, there is.", "Yes", "There is not.", "No", "Red.", "dark blue",
                                             "two", "C", "The answer is B.", "green", "I don't know"};
  const auto scores = score_items(items, predictions);
  REQUIRE(scores.size() == 5);
  const auto check = [&](const std::string& kind, int64_t correct, int64_t total, int64_t unparsable) {
    INFO(kind);
    const auto& s = scores.at(kind);
    CHECK(s.correct == correct);
    CHECK(s.total == total);
    CHECK(s.unparsable == unparsable);
    CHECK(s.accuracy() == Approx(static_cast<double>(correct) / total));
  };
  check("random", 2, 3, 0);
  check("popular", 0, 1, 0);
  check("colour", 1, 2, 0);
  check("counting", 1, 1, 0);
  check("multiple_choice", 2, 4, 1);
  CHECK(score_answer(items[10], "I don't know") == AnswerOutcome::Unparsable);
  CHECK(KindScore{}.accuracy() == 0.0);

  CHECK_THROWS_WITH(score_items(items, {"yes"}), ContainsSubstring("1 predictions for 11 items"));
  CHECK_THROWS_WITH(score_items({item("gqa", "x", "y")}, {"y"}), ContainsSubstring("unknown benchmark 'gqa'"));
}

}  // namespace test_eval_scoring
