// The built-in dataset's splits as read, asked and scored by the public benchmarks' machinery
// (POPE JSONL, the one-answer VQA JSONL, MMBench TSV), the shared readers (TSV, base64) and
// answer rules, on fixture files written here and expectations worked out by hand.
#include "tests/catch.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#include "eval/answer_scoring.h"
#include "eval/benchmark_files.h"
#include "eval/benchmarks/registry.h"
#include "eval/benchmarks/vqa.h"
#include "eval/items/benchmark_items.h"

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

TEST_CASE("a built-in POPE split is read by POPE's item reader, from the dataset's image folder", "[eval_scoring]") {
  DatasetFolder dir;
  const auto file = dir.write("eval/pope_random.jsonl",
                              "{\"question_id\": 3, \"image\": \"eval/000012.png\", \"text\": \"Is there a triangle in the image?\", \"label\": \"yes\"}\n"
                              "\n"
                              "{\"question_id\": \"q4\", \"image\": \"eval/000013.png\", \"text\": \"Is there a circle in the image?" + std::string("\\n") +
                                  "Answer the question using a single word or phrase.\", \"label\": \"No\"}\r\n");
  const auto items = read_benchmark_items({"pope", file, dir.images()});
  REQUIRE(items.size() == 2);
  CHECK(items[0].key == "random/3");  // the split from the file's name
  CHECK(items[0].question == "Is there a triangle in the image?" + kShort);
  REQUIRE(items[0].images.size() == 1);
  CHECK(items[0].images[0].path == dir.images() + "/eval/000012.png");
  CHECK(items[0].record == nlohmann::ordered_json{{"question_id", 3}, {"category", "random"}});
  CHECK(items[1].key == "random/q4");
  CHECK(items[1].question == "Is there a circle in the image?" + kShort);  // LLaVA's instruction not twice
}

TEST_CASE("a built-in POPE split is scored by POPE's rule, eval.limit's questions as the benchmark", "[eval_scoring]") {
  DatasetFolder dir;
  std::string questions;
  // labels y y y n n n, then two more the limit leaves out
  const std::vector<std::string> labels{"yes", "yes", "yes", "no", "no", "no", "yes", "no"};
  for (size_t i = 0; i < labels.size(); ++i) {
    questions += "{\"question_id\": " + std::to_string(i) + ", \"image\": \"eval/1.png\", \"text\": \"Is there a dog?\", \"label\": \"" +
                 labels[i] + "\"}\n";
  }
  bench::ScoreRequest request;
  request.data = dir.write("eval/pope_popular.jsonl", questions);
  // predictions y y n y n n -> TP 2, FN 1, FP 1, TN 2 (POPE's rule: "No," is no, "Nope" is yes)
  request.predictions = dir.write("predictions.jsonl",
                                  "{\"question_id\": 0, \"text\": \"Yes\"}\n{\"question_id\": 1, \"text\": \"Nope\"}\n"
                                  "{\"question_id\": 2, \"text\": \"No, there is not.\"}\n{\"question_id\": 3, \"text\": \"Yes.\"}\n"
                                  "{\"question_id\": 4, \"text\": \"no\"}\n{\"question_id\": 5, \"text\": \"There is not a dog.\"}\n");
  request.questions = std::set<std::string>{"popular/0", "popular/1", "popular/2", "popular/3", "popular/4", "popular/5"};
  const auto report = bench::score_benchmark("pope", request);
  const auto& m = report.metrics.at("popular");
  CHECK(m["accuracy"].get<double>() == Approx(4.0 / 6));
  CHECK(m["precision"].get<double>() == Approx(2.0 / 3));
  CHECK(m["recall"].get<double>() == Approx(2.0 / 3));
  CHECK(m["f1"].get<double>() == Approx(2.0 / 3));
  CHECK(m["yes_ratio"].get<double>() == Approx(3.0 / 6));
  CHECK(report.counts.items == 6);
  CHECK(report.counts.missing == 0);
  // The whole file: the two questions past the limit are missing, wrong in accuracy.
  request.questions.reset();
  const auto whole = bench::score_benchmark("pope", request);
  CHECK(whole.counts.items == 8);
  CHECK(whole.counts.missing == 2);
  CHECK(whole.metrics.at("popular")["accuracy"].get<double>() == Approx(4.0 / 8));
}

TEST_CASE("bad lines of a built-in POPE split are reported with file:line, all of them", "[eval_scoring]") {
  DatasetFolder dir;
  bench::ScoreRequest request;
  request.data = dir.write("eval/pope_adversarial.jsonl",
                           "{\"question_id\": 1, \"image\": \"eval/1.png\", \"text\": \"Is there a cat?\", \"label\": \"yes\"}\n"
                           "{\"question_id\": 2, \"image\": \"eval/1.png\", \"text\": \"Is there\n"
                           "{\"question_id\": 3, \"image\": \"eval/1.png\", \"text\": \"Is there a dog?\"}\n"
                           "[1, 2]\n");
  request.predictions = dir.write("predictions.jsonl", "{\"question_id\": 1, \"text\": \"yes\"}\n");
  const auto problems = problems_of([&] { bench::score_benchmark("pope", request); });
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == request.data + ":2: not valid JSON");
  CHECK_THAT(problems[1], ContainsSubstring(request.data + ":3: missing the answer field"));
  CHECK_THAT(problems[2], ContainsSubstring(request.data + ":4: "));
  request.data = dir.write("eval/pope_random.jsonl",
                           "{\"question_id\": 1, \"image\": \"eval/1.png\", \"text\": \"Is there a cat?\", \"label\": \"maybe\"}\n"
                           "{\"question_id\": 1, \"image\": \"eval/1.png\", \"text\": \"Is there a cow?\", \"label\": \"no\"}\n");
  CHECK(problems_of([&] { bench::score_benchmark("pope", request); }) ==
        std::vector<std::string>{request.data + ":1: label must be yes or no, got \"maybe\"",
                                 request.data + ":2: question_id 1 repeats line 1"});
}

TEST_CASE("the built-in VQA split: one reference answer, per-category accuracy by the VQA normalisation", "[eval_scoring]") {
  DatasetFolder dir;
  const auto file = dir.write(
      "eval/vqa.jsonl",
      "{\"question_id\": 7, \"image\": \"eval/000003.png\", \"text\": \"What colour is the circle?\", \"answer\": \"red\", \"category\": \"colour\"}\n"
      "{\"question_id\": 8, \"image\": \"eval/000003.png\", \"text\": \"What colour is the square?\", \"answer\": \"blue\", \"category\": \"colour\"}\n"
      "{\"question_id\": \"c9\", \"image\": \"eval/000004.png\", \"text\": \"How many squares are there?\", \"answer\": \"2\", \"category\": \"counting\"}\n"
      "{\"question_id\": 10, \"image\": \"eval/000004.png\", \"text\": \"How many circles are there?\", \"answer\": \"3\", \"category\": \"counting\"}\n"
      "{\"question_id\": 11, \"image\": \"eval/000005.png\", \"text\": \"Where is the star?\", \"answer\": \"left\", \"category\": \"position\"}\n");
  const auto items = read_benchmark_items({"vqa", file, dir.images()});
  REQUIRE(items.size() == 5);
  CHECK(items[0].key == "7");
  CHECK(items[0].question == "What colour is the circle?" + kShort);
  CHECK(items[0].images.at(0).path == dir.images() + "/eval/000003.png");
  CHECK(items[0].record == nlohmann::ordered_json{{"question_id", 7}});
  CHECK(items[2].record == nlohmann::ordered_json{{"question_id", "c9"}});
  CHECK(authors_max_new_tokens("vqa") == 5);

  bench::ScoreRequest request;
  request.data = file;
  // red: "Red." right; blue: "dark blue" wrong; 2: "two" right; 3: missing; left: "Left" right (limit leaves it out below)
  request.predictions = dir.write("predictions.jsonl",
                                  "{\"question_id\": 7, \"text\": \"Red.\"}\n{\"question_id\": 8, \"text\": \"dark blue\"}\n"
                                  "{\"question_id\": \"c9\", \"text\": \"two\"}\n{\"question_id\": 11, \"text\": \"Left\"}\n"
                                  "{\"question_id\": 99, \"text\": \"?\"}\n");
  const auto report = bench::score_benchmark("vqa", request);
  CHECK(report.metrics["accuracy"].get<double>() == Approx(3.0 / 5));
  CHECK(report.metrics["questions"] == 5);
  CHECK(report.metrics["category"]["colour"]["accuracy"].get<double>() == Approx(0.5));
  CHECK(report.metrics["category"]["counting"]["accuracy"].get<double>() == Approx(0.5));
  CHECK(report.metrics["category"]["counting"]["questions"] == 2);
  CHECK(report.metrics["category"]["position"]["accuracy"].get<double>() == Approx(1.0));
  CHECK(report.counts.missing == 1);
  CHECK(report.counts.unknown == 1);

  request.questions = std::set<std::string>{"7", "8", "c9", "10"};  // eval.limit 4
  const auto limited = bench::score_benchmark("vqa", request);
  CHECK(limited.metrics["accuracy"].get<double>() == Approx(2.0 / 4));
  CHECK_FALSE(limited.metrics["category"].contains("position"));
  CHECK(limited.counts.items == 4);
  CHECK(limited.counts.unknown == 2);  // 11, past the limit, and 99

  // Lines that are no record first (every one of them), then the fields of the records.
  const auto bad = dir.write("eval/vqa_bad.jsonl",
                             "{\"question_id\": 9, \"image\": \"eval/000003.png\", \"text\": \"What colour?\", \"category\": \"colour\"}\n"
                             "not json at all\n");
  const auto problems = problems_of([&] { bench::read_vqa_questions(bad); });
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], ContainsSubstring(bad + ":1: missing the answer field"));
  CHECK(problems[1] == bad + ":2: not valid JSON");
  const auto fields = dir.write("eval/vqa_fields.jsonl",
                                "{\"question_id\": 10, \"image\": \"eval/000003.png\", \"text\": \"What colour?\", \"answer\": \"red\"}\n"
                                "{\"question_id\": 10, \"image\": 3, \"text\": \"What colour?\", \"answer\": \"red\", \"category\": \"colour\"}\n");
  CHECK(problems_of([&] { bench::read_vqa_questions(fields); }) ==
        std::vector<std::string>{fields + ":1: field 'category' must be a non-empty string",
                                 fields + ":2: field 'image' must be a non-empty string",
                                 fields + ":2: question_id 10 repeats line 1"});
  CHECK_THROWS_WITH(bench::read_vqa_questions(dir.path("eval/none.jsonl")), ContainsSubstring("none.jsonl"));
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
  CHECK(items[0].id == "0");
  CHECK(items[0].prompt ==
        "The image shows shapes.\nWhat shape is red?\nA. circle\nB. square\nC. triangle\nD. star" + kLetter);
  CHECK(items[0].answer == "B");
  CHECK(items[0].options == std::vector<std::string>{"circle", "square", "triangle", "star"});
  CHECK(items[0].image_bytes == std::vector<uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  // No hint: the question comes first; three options when D is empty.
  CHECK(items[1].prompt == "How many circles?\nA. 1\nB. 2\nC. 3" + kLetter);
  CHECK(items[1].options.size() == 3);
  // "nan" is pandas' empty cell, as LLaVA's is_none() reads it.
  CHECK(items[2].prompt == "Which side?\nA. left\nB. right" + kLetter);
  CHECK(items[3].prompt == "A hint\nover two lines,\twith a tab and \"quotes\"\nWhat is shown?\nA. yes\nB. no" + kLetter);
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

TEST_CASE("the built-in MMBench split is scored by MMBench's rules, eval.limit's rows as the benchmark", "[eval_scoring]") {
  DatasetFolder dir;
  const std::string png = "iVBORw0KGgo=";
  bench::ScoreRequest request;
  request.data = dir.write("eval/mmbench.tsv",
                           "index\tquestion\tA\tB\tC\tanswer\timage\n"
                           "0\tQ?\tred\tgreen\tblue\tC\t" + png + "\n" +
                           "1\tQ?\tred\tgreen\tblue\tA\t" + png + "\n" +
                           "2\tQ?\tred\tgreen\tblue\tB\t" + png + "\n" +
                           "3\tQ?\tred\tgreen\tblue\tA\t" + png + "\n" +
                           "4\tQ?\tred\tgreen\tblue\tA\t" + png + "\n");
  // C right; "The answer is B." wrong; "green" right (option text); "I don't know" unparsable; 4 missing
  request.predictions = dir.write("predictions.jsonl",
                                  "{\"question_id\": 0, \"text\": \"C\"}\n{\"question_id\": 1, \"text\": \"The answer is B.\"}\n"
                                  "{\"question_id\": 2, \"text\": \"green\"}\n{\"question_id\": 3, \"text\": \"I don't know\"}\n");
  const auto report = bench::score_benchmark("mmbench", request);
  CHECK(report.metrics["vanilla_accuracy"].get<double>() == Approx(2.0 / 5));
  CHECK(report.metrics["circular_accuracy"].get<double>() == Approx(2.0 / 5));  // no rotations: each its own group
  CHECK(report.counts.unparsable == 1);
  CHECK(report.counts.missing == 1);
  request.questions = std::set<std::string>{"0", "1", "2", "3"};
  const auto limited = bench::score_benchmark("mmbench", request);
  CHECK(limited.metrics["vanilla_accuracy"].get<double>() == Approx(2.0 / 4));
  CHECK(limited.counts.missing == 0);
  CHECK(limited.counts.items == 4);
}

}  // namespace test_eval_scoring
