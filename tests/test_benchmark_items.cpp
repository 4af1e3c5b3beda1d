// The item readers of `trol eval` (eval/items/) on small fixtures in each benchmark's own
// layout (tests/fixtures/eval_suites/, written by make_fixtures.py there): ids, prompts as the
// TroL authors build them, image paths, prediction records; plus the eval.suites config and
// the report's headline numbers.
#include "tests/catch.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "eval/benchmarks/registry.h"
#include "eval/benchmarks/score_common.h"
#include "eval/benchmark_files.h"
#include "eval/evaluator.h"
#include "eval/items/benchmark_items.h"
#include "eval/paper_comparison.h"
#include "trol/config_reader.h"

namespace test_benchmark_items {

using namespace trol;

namespace {

std::string fixture(const std::string& relative) {
  return std::string(TROL_SOURCE_DIR) + "/tests/fixtures/eval_suites/" + relative;
}

// The scorers' fixtures (tests/fixtures/benchmarks/), read by the readers of the benchmarks
// that have no eval_suites fixture.
std::string scorer_fixture(const std::string& relative) {
  return std::string(TROL_SOURCE_DIR) + "/tests/fixtures/benchmarks/" + relative;
}

std::vector<BenchmarkItem> scorer_items(const std::string& benchmark, const std::string& data, const std::string& images = "") {
  return read_benchmark_items({benchmark, scorer_fixture(data), images});
}

std::vector<BenchmarkItem> items_of(const std::string& benchmark, const std::string& data, const std::string& images = "") {
  return read_benchmark_items({benchmark, fixture(data), images.empty() ? "" : fixture(images)});
}

const std::string kShort = "\nAnswer the question using a single word or phrase.";
const std::string kLetter = "\nAnswer with the option's letter from the given choices directly.";

}  // namespace

TEST_CASE("item readers exist for every benchmark trol score scores from data", "[items]") {
  CHECK(item_benchmark_names() ==
        std::vector<std::string>{"ai2d", "chartqa", "hallusionbench", "mathvista", "mmbench", "mme", "mmmu", "mmstar",
                                 "pope", "scienceqa", "seedbench", "textvqa", "vqa"});
  CHECK(authors_max_new_tokens("pope") == 5);
  CHECK(authors_max_new_tokens("mathvista") == 512);
  for (const auto* name : {"ai2d", "seedbench", "mmstar", "mmmu", "hallusionbench"}) CHECK(authors_max_new_tokens(name) == 5);
  CHECK_THROWS_WITH(read_benchmark_items({"mm-vet", fixture("pope"), ""}), ContainsSubstring("no item reader for benchmark 'mm-vet'"));
}

TEST_CASE("every scorer reads the item readers' records and keys: eval.limit's subset is the benchmark", "[items]") {
  // benchmark, data (the scorers' fixtures; TextVQA's with image ids from eval_suites/)
  const std::vector<std::pair<std::string, std::string>> cases{
      {"pope", scorer_fixture("pope")},
      {"mme", scorer_fixture("mme/data")},
      {"mmbench", scorer_fixture("mmbench/mmbench_dev.tsv")},
      {"scienceqa", scorer_fixture("scienceqa")},
      {"chartqa", scorer_fixture("chartqa")},
      {"textvqa", fixture("textvqa/TextVQA_0.5.1_val.json")},
      {"mathvista", fixture("mathvista/data/testmini.json")},
      {"ai2d", scorer_fixture("ai2d/AI2D_TEST.tsv")},
      {"seedbench", scorer_fixture("seedbench/SEED-Bench.json")},
      {"mmstar", scorer_fixture("mmstar/MMStar.tsv")},
      {"mmmu", scorer_fixture("mmmu/MMMU_DEV_VAL.tsv")},
      {"hallusionbench", scorer_fixture("hallusionbench/HallusionBench.json")},
      {"vqa", fixture("vqa/vqa.jsonl")},
  };
  const auto predictions = std::filesystem::temp_directory_path() / ("trol_items_predictions_" + std::to_string(::getpid()) + ".jsonl");
  for (const auto& [benchmark, data] : cases) {
    INFO(benchmark);
    const auto items = read_benchmark_items({benchmark, data, ""});
    REQUIRE(items.size() >= 2);
    {  // what `trol eval` writes: each item's record with an answer
      std::ofstream out(predictions);
      for (const auto& item : items) {
        auto record = item.record;
        record["text"] = "A";
        out << record.dump() << "\n";
      }
    }
    bench::ScoreRequest request;
    request.data = data;
    request.predictions = predictions.string();
    const auto whole = bench::score_benchmark(benchmark, request).to_json();
    CHECK(whole["counts"]["items"] == items.size());
    CHECK(whole["counts"]["missing"] == 0);  // every record found its question
    CHECK(whole["counts"]["unknown"] == 0);
    // Every item asked: the same report.
    request.questions.emplace();
    for (const auto& item : items) request.questions->insert(item.key);
    CHECK(bench::score_benchmark(benchmark, request).to_json() == whole);
    // The first half asked: exactly those are the benchmark, the others' answers unknown.
    request.questions->clear();
    const size_t half = items.size() / 2;
    for (size_t i = 0; i < half; ++i) request.questions->insert(items[i].key);
    const auto part = bench::score_benchmark(benchmark, request);
    CHECK(part.counts.items == static_cast<int64_t>(half));
    CHECK(part.counts.missing == 0);
    CHECK(part.counts.unknown == static_cast<int64_t>(items.size() - half));
  }
  std::filesystem::remove(predictions);
}

TEST_CASE("POPE items: every split file, the short-answer prompt, COCO images in val2014/", "[items]") {
  const auto items = items_of("pope", "pope");
  REQUIRE(items.size() == 7);  // random (5) first, then popular (2)
  CHECK(items[0].key == "random/1");
  CHECK(items[0].question == "Is there a dog in the image?" + kShort);
  CHECK(items[0].images.at(0).path == fixture("pope/val2014/COCO_val2014_000000000001.png"));
  CHECK(items[0].record.dump() == R"({"question_id":1,"category":"random"})");
  CHECK(items[5].key == "popular/1");
  CHECK(items[5].record["category"] == "popular");
  // Another image folder.
  CHECK(items_of("pope", "pope/coco_pope_popular.json", "elsewhere")[0].images.at(0).path ==
        fixture("elsewhere/COCO_val2014_000000000001.png"));
}

TEST_CASE("MME items: the question as written, the image beside its .txt or in images/", "[items]") {
  const auto items = items_of("mme", "mme");
  REQUIRE(items.size() == 4);
  // Perception subtasks in MME's order: existence before artwork.
  CHECK(items[0].question == "Is there a dog in this image? Please answer yes or no.");
  CHECK(items[0].images.at(0).path == fixture("mme/existence/0001.png"));
  CHECK(items[0].record.dump() ==
        R"({"question_id":"existence/0001.png","prompt":"Is there a dog in this image? Please answer yes or no."})");
  CHECK(items[2].images.at(0).path == fixture("mme/artwork/images/10.png"));
  CHECK(items[2].record["question_id"] == "artwork/10.png");
  CHECK(items[0].key != items[1].key);  // two questions per image, distinct keys
}

TEST_CASE("MMBench items: every TSV row, the authors' prompt, the image decoded from base64", "[items]") {
  const auto items = items_of("mmbench", "mmbench/mmbench_dev.tsv");
  REQUIRE(items.size() == 3);
  CHECK(items[0].key == "0");
  CHECK(items[0].question == "What colour is the square?\nA. blue\nB. red" + kLetter);
  CHECK(items[1].record.dump() == R"({"question_id":1000000})");
  CHECK(items[2].question == "Look closely.\nWhich shape is it?\nA. circle\nB. square\nC. star" + kLetter);
  CHECK(items[0].images.at(0).path.empty());
  CHECK(items[0].images.at(0).bytes.size() > 8);
  CHECK(items[0].images.at(0).bytes[1] == 'P');  // the PNG signature
}

TEST_CASE("ScienceQA items: test questions with an image, hint and lettered choices", "[items]") {
  const auto items = items_of("scienceqa", "scienceqa");
  REQUIRE(items.size() == 3);  // 13 has no image, 14 is a training question
  CHECK(items[0].key == "10");
  CHECK(items[0].question == "Which animal is shown?\nA. cat\nB. dog" + kLetter);  // empty hint left out
  CHECK(items[1].question == "Look at the picture.\nWhat is the colour?\nA. red\nB. green\nC. blue" + kLetter);
  CHECK(items[0].images.at(0).path == fixture("scienceqa/images/test/10/image.png"));
  CHECK(items[2].record.dump() == R"({"question_id":"12"})");
}

TEST_CASE("ChartQA items: ids by split and position, charts in png/", "[items]") {
  const auto items = items_of("chartqa", "chartqa/test");
  REQUIRE(items.size() == 3);
  CHECK(items[2].key == "human/2");
  CHECK(items[2].question == "How many bars are there?" + kShort);
  CHECK(items[2].images.at(0).path == fixture("chartqa/test/png/chart2.png"));
  CHECK(items[2].record.dump() == R"({"question_id":"human/2"})");
}

TEST_CASE("TextVQA items: question ids, images in train_images/<image_id>.jpg", "[items]") {
  const auto items = items_of("textvqa", "textvqa/TextVQA_0.5.1_val.json");
  REQUIRE(items.size() == 2);
  CHECK(items[0].key == "34602");
  CHECK(items[0].question == "what brand is this?" + kShort);
  CHECK(items[0].images.at(0).path == fixture("textvqa/train_images/abc123.jpg"));
  CHECK(items[0].record.dump() == R"({"question_id":34602})");
}

TEST_CASE("MathVista items: the query as written, images relative to testmini.json", "[items]") {
  const auto items = items_of("mathvista", "mathvista/data/testmini.json");
  REQUIRE(items.size() == 2);
  CHECK(items[1].key == "2");
  CHECK(items[1].question.rfind("Hint: Please answer the question requiring an integer answer", 0) == 0);
  CHECK(items[0].images.at(0).path == fixture("mathvista/data/images/1.png"));
  CHECK(items[0].record.dump() == R"({"question_id":"1"})");
}

TEST_CASE("AI2D items: TSV rows, the options on one line, the image decoded from base64", "[items]") {
  const auto items = scorer_items("ai2d", "ai2d/AI2D_TEST.tsv");
  REQUIRE(items.size() == 7);
  CHECK(items[0].key == "0");
  CHECK(items[0].question == "Which stage comes after larva?\nA. egg B. pupa C. adult D. nymph" + kLetter);
  CHECK(items[1].question == "What eats grass?\nA. hawk B. snake C. rabbit" + kLetter);  // D is nan
  CHECK(items[0].record.dump() == R"({"question_id":0})");
  CHECK(items[0].images.at(0).path.empty());
  REQUIRE(items[0].images.at(0).bytes.size() == 8);
  CHECK(items[0].images.at(0).bytes[1] == 'P');  // the PNG signature
  CHECK_THROWS_WITH(scorer_items("ai2d", "ai2d/bad.tsv"), ContainsSubstring("is not the letter of one of the options"));
}

TEST_CASE("SEED-Bench items: image questions, one option per line, images in SEED-Bench-image/", "[items]") {
  const auto items = scorer_items("seedbench", "seedbench/SEED-Bench.json");
  REQUIRE(items.size() == 6);  // the video question v1 is not asked
  CHECK(items[0].key == "101");
  CHECK(items[0].question == multiple_choice_prompt("", "Where is this?", {"a beach", "a city", "a forest", "a desert"}));
  CHECK(items[0].question == "Where is this?\nA. a beach\nB. a city\nC. a forest\nD. a desert" + kLetter);
  CHECK(items[0].record.dump() == R"({"question_id":"101"})");
  CHECK(items[0].images.at(0).path == scorer_fixture("seedbench/SEED-Bench-image/1.jpg"));
  CHECK(scorer_items("seedbench", "seedbench/SEED-Bench.json", "/imgs")[5].images.at(0).path == "/imgs/6.jpg");
}

TEST_CASE("MMStar items: the question with its options, the letter instruction, base64 images", "[items]") {
  const auto items = scorer_items("mmstar", "mmstar/MMStar.tsv");
  REQUIRE(items.size() == 7);
  // The fixture's questions do not list their options: they are added, one per line.
  CHECK(items[2].question == "Which shape has three sides?\nA. square\nB. circle\nC. triangle\nD. pentagon" + kLetter);
  CHECK(items[2].record.dump() == R"({"question_id":2})");
  CHECK(items[2].images.at(0).bytes.size() == 8);
  // MMStar's own questions list them ("Options: A: ..."): taken as written, as the authors do.
  const auto file = std::filesystem::temp_directory_path() / "trol_items_MMStar.tsv";
  {
    std::ofstream out(file);
    out << "index\tquestion\tA\tB\tanswer\timage\n"
        << "7\tWhich is red?\\nOptions: A: apple, B: sky\tapple\tsky\tA\t1\n"
        << "1\tWhich is blue?\\nOptions: A: apple, B: sky\tapple\tsky\tB\tiVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        << "2\tWhich is green?\tgrass\tsky\tA\t['iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'AAAA']\n";
  }
  const auto listed = read_benchmark_items({"mmstar", file.string(), ""});
  std::filesystem::remove(file);
  REQUIRE(listed.size() == 3);
  CHECK(listed[0].question == "Which is red?\\nOptions: A: apple, B: sky" + kLetter);
  // A list of images (MMMU's): each of them, leading the prompt.
  REQUIRE(listed[2].images.size() == 2);
  CHECK(listed[2].images[0].bytes == listed[1].images.at(0).bytes);
  CHECK(listed[2].images[1].bytes.size() == 3);
  CHECK(user_turn(listed[2]) == "<image>\n<image>\n" + listed[2].question);
  CHECK(user_turn(listed[1]) == "<image>\n" + listed[1].question);
  // VLMEvalKit's image references: a short cell names the row holding the image.
  CHECK(listed[0].images.at(0).bytes == listed[1].images.at(0).bytes);
  CHECK(listed[0].images.at(0).bytes.size() == 56);
  CHECK(listed[0].images.at(0).bytes[1] == 'P');
}

TEST_CASE("MMMU items: keyed by MMMU's id, options on one line, the open questions' short-answer prompt", "[items]") {
  const auto items = scorer_items("mmmu", "mmmu/MMMU_DEV_VAL.tsv");
  REQUIRE(items.size() == 8);
  CHECK(items[0].key == "validation_Art_1");
  CHECK(items[0].question == "Which medium is used?\nA. oil B. watercolor C. fresco D. tempera" + kLetter);
  CHECK(items[0].record.dump() == R"({"question_id":"validation_Art_1"})");
  CHECK(items[2].question == "What is the area?" + kShort);  // open
  CHECK(items[5].question == "How many roots?\nA. 1 B. 2 C. 3" + kLetter);
  CHECK(items[0].images.at(0).bytes.size() == 8);
  CHECK_FALSE(items[0].images_in_question);  // no "<image N>" in the text: the image leads
}

TEST_CASE("MMMU items: each image where the text first refers to it, as the authors' replace_image_tokens", "[items]") {
  const auto file = std::filesystem::temp_directory_path() / "trol_items_MMMU.tsv";
  const std::string png = "iVBORw0KGgo=", other = "AAAA";
  {
    std::ofstream out(file);
    out << "index\tquestion\tA\tB\tanswer\tid\timage\n"
        // Image 2 referred to first, image 1 twice (the second stays as text), an option too.
        << "0\tCompare <image 2> with <image 1>. Is <image 1> older?\tyes <image 3>\tno\tA\tvalidation_Art_1\t['"
        << png << "', '" << other << "', '" << png << "']\n"
        // An open question with one reference.
        << "1\tWhat is the area of <image 1>?\t\t\t12\tvalidation_Math_2\t" << png << "\n";
  }
  const auto items = read_benchmark_items({"mmmu", file.string(), ""});
  REQUIRE(items.size() == 2);
  CHECK(items[0].images_in_question);
  CHECK(items[0].question == "Compare <image> with <image>. Is <image 1> older?\nA. yes <image> B. no" + kLetter);
  CHECK(user_turn(items[0]) == items[0].question);
  REQUIRE(items[0].images.size() == 3);
  CHECK(items[0].images[0].bytes.size() == 3);  // image 2 ("AAAA")
  CHECK(items[0].images[1].bytes.size() == 8);  // image 1
  CHECK(items[0].images[2].bytes.size() == 8);  // image 3
  CHECK(items[1].question == "What is the area of <image>?" + kShort);
  CHECK(items[1].images.size() == 1);
  // A reference to an image the row does not have names the row.
  {
    std::ofstream out(file);
    out << "index\tquestion\tA\tB\tanswer\tid\timage\n"
        << "0\tSee <image 2>.\tx\ty\tA\tvalidation_Art_1\t" << png << "\n";
  }
  CHECK_THROWS_WITH(read_benchmark_items({"mmmu", file.string(), ""}),
                    ContainsSubstring("validation_Art_1: the question refers to <image 2> but has 1 image(s)"));
  std::filesystem::remove(file);
}

TEST_CASE("HallusionBench items: every question (those without a figure as text), the yes/no instruction, the scorer's ids", "[items]") {
  const auto items = scorer_items("hallusionbench", "hallusionbench/HallusionBench.json");
  REQUIRE(items.size() == 8);
  CHECK(items[0].key == "VD_illusion_0_0_0");
  // VS_chart_0_0_0 has no figure: asked as text, as the authors do.
  CHECK(items[4].key == "VS_chart_0_0_0");
  CHECK(items[4].images.empty());
  CHECK(user_turn(items[4]) == items[4].question);
  CHECK(user_turn(items[0]) == "<image>\n" + items[0].question);
  CHECK(items[0].question == "Is it so?\nPlease answer yes or no.");
  CHECK(items[0].record.dump() == R"({"question_id":"VD_illusion_0_0_0"})");
  CHECK(items[0].images.at(0).path == scorer_fixture("hallusionbench/hallusion_bench/VD/illusion/0_0.png"));
  CHECK(items[5].key == "VS_chart_0_1_0");
  const auto tsv = scorer_items("hallusionbench", "hallusionbench/HallusionBench.tsv");
  REQUIRE(tsv.size() == 3);
  CHECK(tsv[1].record.dump() == R"({"question_id":"VD_ocr_x_0_1_0"})");
  CHECK(tsv[1].images.at(0).bytes.size() == 8);
  CHECK(tsv[1].images.at(0).path.empty());
}

TEST_CASE("item readers name the file and entry of bad data", "[items]") {
  CHECK_THROWS_AS(items_of("pope", "nowhere"), BenchmarkFileError);
  // The scorer fixtures' TextVQA file has no image_id: every question is named.
  const auto scorer_textvqa = std::string(TROL_SOURCE_DIR) + "/tests/fixtures/benchmarks/textvqa/TextVQA_0.5.1_val.json";
  CHECK_THROWS_WITH(read_benchmark_items({"textvqa", scorer_textvqa, ""}), ContainsSubstring("data[0]: missing string \"image_id\""));
}

TEST_CASE("eval.suites: defaults, did-you-mean for keys and benchmarks, unique names", "[items][config]") {
  const auto read = [](const std::string& yaml) {
    ConfigReader reader(YAML::Load(yaml), "eval", "test.yaml");
    return read_eval_options(reader);
  };
  const auto options = read("{suites: [{benchmark: pope, data: /d/pope}, {benchmark: mathvista, data: m.json, name: mv, "
                            "images: /img}], scoring: trol, every_steps: 50}");
  REQUIRE(options.suites.size() == 2);
  CHECK(options.suites[0].name == "pope");
  CHECK(options.suites[0].max_new_tokens == 5);
  CHECK(options.suites[1].name == "mv");
  CHECK(options.suites[1].source.images == "/img");
  CHECK(options.suites[1].max_new_tokens == 512);
  CHECK(options.scoring == "trol");
  CHECK(options.every_steps == 50);
  CHECK(read("{}").suites.empty());
  CHECK_THROWS_WITH(read("{suites: [{benchmark: pope, dta: x}]}"), ContainsSubstring("did you mean 'eval.suites[0].data'"));
  CHECK_THROWS_WITH(read("{suites: [{benchmark: mmbnch, data: x}]}"), ContainsSubstring("did you mean 'mmbench'"));
  CHECK_THROWS_WITH(read("{suites: [{benchmark: pope}]}"), ContainsSubstring("data: missing"));
  CHECK_THROWS_WITH(read("{suites: [{benchmark: pope, data: a}, {benchmark: pope, data: b}]}"), ContainsSubstring("two suites are named 'pope'"));
  CHECK_THROWS_WITH(read("{benchmarks: [pope]}"), ContainsSubstring("goes in eval.suites"));
  CHECK_THROWS_WITH(read("{scoring: authors}"), ContainsSubstring("unknown scoring 'authors'"));
  CHECK_THROWS_WITH(read("{benchmarks: [vqa, vqa]}"), ContainsSubstring("'vqa' is listed twice"));
  // A suite's outputs would overwrite a built-in split's.
  CHECK_THROWS_WITH(read("{suites: [{benchmark: mmbench, data: a.tsv}]}"), ContainsSubstring("the suite name 'mmbench' is a built-in split's"));
  CHECK(read("{benchmarks: [pope_random], suites: [{benchmark: mmbench, data: a.tsv}]}").suites.size() == 1);
}

TEST_CASE("eval.benchmarks: the built-in splits are suites of the one path, before eval.suites", "[items][config]") {
  DataConfig data;
  data.root = "/d";
  EvalOptions options;
  options.max_new_tokens = 4;
  options.suites.push_back({"pope", {"pope", "/coco", ""}, 5});
  const auto suites = evaluation_suites(data, options);
  REQUIRE(suites.size() == 6);
  const auto check = [&](size_t i, const std::string& name, const std::string& benchmark, const std::string& file,
                         const std::string& images) {
    INFO(name);
    CHECK(suites[i].name == name);
    CHECK(suites[i].source.benchmark == benchmark);
    CHECK(suites[i].source.data == "/d/eval/" + file);
    CHECK(suites[i].source.images == images);
    CHECK(suites[i].max_new_tokens == 4);  // eval.max_new_tokens, not the authors' length
  };
  check(0, "pope_random", "pope", "pope_random.jsonl", data.images_folder());
  check(1, "pope_popular", "pope", "pope_popular.jsonl", data.images_folder());
  check(2, "pope_adversarial", "pope", "pope_adversarial.jsonl", data.images_folder());
  check(3, "vqa", "vqa", "vqa.jsonl", data.images_folder());
  check(4, "mmbench", "mmbench", "mmbench.tsv", "");
  CHECK(suites[5].name == "pope");
  CHECK(suites[5].max_new_tokens == 5);
  options.benchmarks = {"vqa"};
  CHECK(builtin_suites(data, options).size() == 1);
}

TEST_CASE("report headline numbers and the paper's published ones", "[items]") {
  nlohmann::ordered_json pope = {{"metrics", {{"average", {{"accuracy", 0.875}}}}}};
  CHECK(headline_of("pope", pope).value.value() == Approx(87.5));
  nlohmann::ordered_json mme = {{"metrics", {{"total", 1234.5}}}};
  CHECK(headline_of("mme", mme).value.value() == Approx(1234.5));
  CHECK_FALSE(headline_of("textvqa", nlohmann::ordered_json::object()).value.has_value());
  CHECK(published_numbers("mme").trol_7b.value() == 2308);
  CHECK(published_numbers("mmbench").trol_1_8b.value() == Approx(76.1));
  CHECK_FALSE(published_numbers("textvqa").trol_7b.has_value());
}

}  // namespace test_benchmark_items
