// trol report's rows and table (eval/results_table.h) from results.json as the evaluation writes it.
#include "tests/catch.h"

#include "eval/results_table.h"

namespace test_results_table {

using namespace trol;
using nlohmann::ordered_json;

namespace {

std::vector<std::string> labels(const std::vector<ResultRow>& rows) {
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(row.label());
  return out;
}

ordered_json pope_split(double accuracy) {
  return {{"accuracy", accuracy}, {"precision", 0.5}, {"recall", 1.0}, {"f1", 0.6}, {"yes_ratio", 0.9},
          {"questions", 400}, {"missing", 0}, {"confusion", {{"tp", 1}}}};
}

}  // namespace

TEST_CASE("result rows: per benchmark, labelled by suite", "[results_table]") {
  // A built-in POPE split: its one split named by the suite.
  const auto builtin = result_rows("pope_random", "pope", {{"random", pope_split(0.75)}});
  CHECK(labels(builtin) == std::vector<std::string>{"pope_random accuracy", "pope_random precision", "pope_random recall",
                                                    "pope_random f1", "pope_random yes_ratio"});
  CHECK(builtin[0].value == 0.75);
  // Public POPE: each split, then the average's accuracy and F1; counts are no rows.
  const auto public_pope = result_rows("pope", "pope", {{"random", pope_split(0.8)}, {"popular", pope_split(0.7)},
                                                        {"average", {{"accuracy", 0.75}, {"f1", 0.6}}}});
  REQUIRE(public_pope.size() == 12);
  CHECK(public_pope[0].label() == "pope random accuracy");
  CHECK(public_pope[5].label() == "pope popular accuracy");
  CHECK(labels(public_pope)[10] == "pope average accuracy");
  CHECK(labels(public_pope)[11] == "pope average f1");
  // vqa: per category, then overall.
  const ordered_json vqa = {{"accuracy", 0.5}, {"questions", 4},
                            {"category", {{"colour", {{"accuracy", 1.0}, {"questions", 2}}}, {"counting", {{"accuracy", 0.0}, {"questions", 2}}}}}};
  CHECK(labels(result_rows("vqa", "vqa", vqa)) ==
        std::vector<std::string>{"vqa colour accuracy", "vqa counting accuracy", "vqa accuracy"});
  // Others: accuracy-like numbers and one level of per-split objects; group tables and counts are no rows.
  const ordered_json mmbench = {{"circular_accuracy", 0.3}, {"vanilla_accuracy", 0.4}, {"questions", 10}, {"rows", 40}};
  CHECK(labels(result_rows("mmbench", "mmbench", mmbench)) ==
        std::vector<std::string>{"mmbench circular_accuracy", "mmbench vanilla_accuracy"});
  const ordered_json chartqa = {{"relaxed_accuracy", 0.6}, {"human", {{"relaxed_accuracy", 0.5}, {"correct", 1}, {"questions", 2}}}};
  CHECK(labels(result_rows("chartqa", "chartqa", chartqa)) ==
        std::vector<std::string>{"chartqa relaxed_accuracy", "chartqa human relaxed_accuracy"});
  const ordered_json mme = {{"perception", 1200.0}, {"cognition", 300.5}, {"total", 1500.5},
                            {"subtasks", {{"existence", {{"score", 190.0}, {"acc", 0.95}}}}}};
  CHECK(labels(result_rows("mme", "mme", mme)) == std::vector<std::string>{"mme perception", "mme cognition", "mme total"});
  const ordered_json hallusion = {{"aAcc", 0.5}, {"fAcc", 0.25}, {"qAcc", 0.0}, {"questions", 3}};
  CHECK(labels(result_rows("hb", "hallusionbench", hallusion)) == std::vector<std::string>{"hb aAcc", "hb fAcc", "hb qAcc"});
  const ordered_json ai2d = {{"accuracy", 0.5}, {"questions", 2}, {"category", {{"a", {{"accuracy", 1.0}}}}}};
  CHECK(labels(result_rows("ai2d", "ai2d", ai2d)) == std::vector<std::string>{"ai2d accuracy"});
}

TEST_CASE("the report table: runs side by side, '-' where a run lacks a row, training seconds", "[results_table]") {
  const auto run = [](const std::string& variant, double accuracy, bool with_vqa) {
    ordered_json r{{"variant", variant}, {"suites", ordered_json::array()}, {"benchmarks", ordered_json::object()}};
    r["suites"].push_back({{"name", "pope_random"}, {"benchmark", "pope"}});
    r["benchmarks"]["pope_random"] = {{"random", pope_split(accuracy)}};
    if (with_vqa) {
      r["suites"].push_back({{"name", "vqa"}, {"benchmark", "vqa"}});
      r["benchmarks"]["vqa"] = {{"accuracy", 0.25}, {"category", ordered_json::object()}};
    }
    r["training"] = ordered_json::array({{{"stage", "a"}, {"seconds", 10.4}}, {{"stage", "b"}, {"seconds", 20.0}}});
    return r;
  };
  const std::vector<ordered_json> runs{run("TroL", 0.8766, true), run("traversal off", 0.5, false)};
  const auto table = results_table(runs);
  CHECK(table ==
        "metric                             TroL   traversal off\n"
        "-------------------------------------------------------\n"
        "pope_random accuracy              0.877           0.500\n"
        "pope_random precision             0.500           0.500\n"
        "pope_random recall                1.000           1.000\n"
        "pope_random f1                    0.600           0.600\n"
        "pope_random yes_ratio             0.900           0.900\n"
        "vqa accuracy                      0.250               -\n"
        "training seconds                     30              30\n");
  const auto combined = combined_results(runs, {"runs/a", "runs/b"});
  REQUIRE(combined.size() == 2);
  CHECK(combined[0]["variant"] == "TroL");
  CHECK(combined[0]["run"] == "runs/a");
  CHECK(combined[0]["pope_random accuracy"].get<double>() == 0.8766);
  CHECK(combined[1].contains("pope_random f1"));
  CHECK_FALSE(combined[1].contains("vqa accuracy"));
  CHECK_THROWS_WITH(read_run_results("/nonexistent/run"), ContainsSubstring("/nonexistent/run/results.json is missing"));
}

}  // namespace test_results_table
