// The loss figures' axes and stage marks: tick positions worked out by hand, and the stage
// starts read from a metrics.jsonl written like trol train's (tests/fixtures/training_log/:
// three stages logged every 20 steps, the periodic evaluation's records between them, and a
// step logged twice by a run resumed from an earlier checkpoint).
#include "tests/catch.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "eval/training_curves.h"

namespace test_training_curves {

using namespace trol;

const std::string kFixture = std::string(TROL_SOURCE_DIR) + "/tests/fixtures/training_log/metrics.jsonl";

void check_ticks(const std::vector<double>& ticks, const std::vector<double>& expected) {
  REQUIRE(ticks.size() == expected.size());
  for (size_t i = 0; i < ticks.size(); ++i) CHECK(ticks[i] == Approx(expected[i]).margin(1e-12));
}

TEST_CASE("axis ticks are the multiples of the smallest 1-2-5 spacing that fits", "[plots]") {
  // The quickstart's 1550 steps: every 100 would be 16 ticks, every 200 is 8 (0 to 1400).
  check_ticks(axis_ticks(0, 1550, 10, 1), {0, 200, 400, 600, 800, 1000, 1200, 1400});
  // 0..10: every step is 11 ticks, every 2 is 6; the ends count when they fall on a multiple.
  check_ticks(axis_ticks(0, 10, 8, 1), {0, 2, 4, 6, 8, 10});
  // Steps are whole: a 3-step run gets 1 apart, not the 0.5 that would fit 7 ticks.
  check_ticks(axis_ticks(0, 3, 8, 1), {0, 1, 2, 3});
  // A loss range: 0.2 apart would be 16 ticks, 0.5 apart is 6 (0.5 to 3).
  check_ticks(axis_ticks(0.0042, 3.27, 6), {0.5, 1, 1.5, 2, 2.5, 3});
  check_ticks(axis_ticks(95, 105, 5), {96, 98, 100, 102, 104});
  check_ticks(axis_ticks(-7, 7, 8), {-6, -4, -2, 0, 2, 4, 6});
  // A learning rate: 5e-5 apart would be 19 ticks, 1e-4 apart is 10.
  check_ticks(axis_ticks(0.0001, 0.001, 10), {1e-4, 2e-4, 3e-4, 4e-4, 5e-4, 6e-4, 7e-4, 8e-4, 9e-4, 1e-3});
  check_ticks(axis_ticks(42, 42, 5), {42});
  CHECK_THROWS_WITH(axis_ticks(3, 1, 5), ContainsSubstring("axis_ticks"));
}

TEST_CASE("log axis ticks are 1-2-5 per decade, or the powers of ten when those are too many", "[plots]") {
  // The quickstart's loss spans 0.004 to 3.27.
  check_ticks(log_axis_ticks(0.004, 3.27, 10), {0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2});
  check_ticks(log_axis_ticks(0.004, 3.27, 6), {0.01, 0.1, 1});
  // Ten decades, four ticks at most: every third power of ten (exponents -6, -3, 0, 3).
  check_ticks(log_axis_ticks(1e-6, 1e3, 4), {1e-6, 1e-3, 1, 1e3});
  // Within one decade the 1-2-5 values give one tick: linear ticks instead.
  check_ticks(log_axis_ticks(0.3, 0.45, 4), {0.3, 0.35, 0.4, 0.45});
}

TEST_CASE("the training log of a resumed run with periodic evaluations is read in step order", "[plots]") {
  const auto log = read_training_log(kFixture);
  std::vector<int64_t> global_steps;
  for (const auto& step : log) global_steps.push_back(step.global_step);
  CHECK(global_steps == std::vector<int64_t>{20, 140, 150, 170, 190, 500, 800});
  // Step 190 was logged twice: the later record (of the resumed run) is the one kept.
  CHECK(log[4].loss == 1.1);
  CHECK(log[4].stage == "step2_existence");
  CHECK(log[4].stage_step == 40);
  CHECK(log[0].gate_mean == std::vector<double>{0.5, 0.49});
}

TEST_CASE("each stage starts at global_step - step + 1 of its records", "[plots]") {
  const auto starts = stage_starts(read_training_log(kFixture));
  REQUIRE(starts.size() == 3);
  CHECK(starts[0].name == "step1");
  CHECK(starts[0].step == 1);
  // First record: step 20 of the stage at global step 170.
  CHECK(starts[1].name == "step2_existence");
  CHECK(starts[1].step == 151);
  // Only its last step was logged: step 300 at global step 800.
  CHECK(starts[2].name == "step2_colour");
  CHECK(starts[2].step == 501);
}

TEST_CASE("a malformed training log is refused naming the file and line", "[plots]") {
  const auto dir = std::filesystem::temp_directory_path() / "trol_test_training_curves";
  std::filesystem::create_directories(dir);
  const auto file = (dir / "metrics.jsonl").string();
  std::ofstream(file) << R"({"stage":"step1","step":5,"global_step":5,"loss":1.0,"lr":0.1})" << "\n"
                      << R"({"stage":"step1","step":10,"global_step":10,"lr":0.1})" << "\n";
  CHECK_THROWS_WITH(read_training_log(file), ContainsSubstring("metrics.jsonl:2:") && ContainsSubstring("loss"));
  std::ofstream(file) << R"({"stage":"step2","step":30,"global_step":12,"loss":1.0,"lr":0.1})" << "\n";
  CHECK_THROWS_WITH(read_training_log(file), ContainsSubstring("metrics.jsonl:1: step 30 of stage 'step2'"));
  std::ofstream(file) << R"({"eval":{},"global_step":12})" << "\n";
  CHECK_THROWS_WITH(read_training_log(file), ContainsSubstring("holds no logged training steps"));
  CHECK_THROWS_WITH(read_training_log((dir / "nowhere.jsonl").string()), ContainsSubstring("nowhere.jsonl is missing"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a run's per-step losses are placed from each stage's logged start", "[plots]") {
  const auto training = nlohmann::ordered_json::parse(
      R"([{"stage": "a", "losses": [3, 2, 1]}, {"stage": "b", "losses": [5, 4]}, {"stage": "c", "losses": [7]}])");
  // Stage b started at global step 10 (3 steps of a were skipped as non-finite); c has no records.
  const auto curve = loss_curve("TroL", training, {{"a", 1}, {"b", 10}});
  CHECK(curve.series.label == "TroL");
  CHECK(curve.series.values == std::vector<double>{3, 2, 1, 5, 4, 7});
  CHECK(curve.series.steps == std::vector<double>{1, 2, 3, 10, 11, 12});
  REQUIRE(curve.stage_starts.size() == 3);
  CHECK(curve.stage_starts[1].name == "b");
  CHECK(curve.stage_starts[1].step == 10);
  CHECK(curve.stage_starts[2].step == 12);
  // Without a log, stages follow each other.
  CHECK(loss_curve("TroL", training, {}).series.steps == std::vector<double>{1, 2, 3, 4, 5, 6});
}

}  // namespace test_training_curves
