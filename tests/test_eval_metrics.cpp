// POPE-style yes/no scoring, with the expected numbers worked out by hand.
#include "tests/catch.h"

#include "eval/yes_no_metrics.h"

namespace test_eval_metrics {

using namespace trol;

TEST_CASE("answers are read as yes or no the way POPE's scorer reads them", "[eval]") {
  CHECK(pope_answer_is_yes("Yes"));
  CHECK(pope_answer_is_yes("Yes, there is a dog in the image."));
  CHECK_FALSE(pope_answer_is_yes("No"));
  CHECK_FALSE(pope_answer_is_yes("no, there is no dog."));
  CHECK_FALSE(pope_answer_is_yes("There is not a dog."));
  // Only the first sentence counts.
  CHECK(pope_answer_is_yes("There is a dog. No cat though."));
  // Commas are removed before splitting on spaces, so "No," is the word "No".
  CHECK_FALSE(pope_answer_is_yes("No, it is not"));
  // Exact words only: "Nope" and "NO" are not "No" (a quirk of the official script, kept).
  CHECK(pope_answer_is_yes("Nope"));
  CHECK(pope_answer_is_yes("NO"));
}

TEST_CASE("yes/no metrics match a hand computation", "[eval]") {
  // labels: y y y n n n ; predictions: y y n y n n  -> TP 2, FN 1, FP 1, TN 2
  const std::vector<std::string> predictions{"Yes", "yes.", "No", "Yes", "no", "No."};
  const std::vector<bool> labels{true, true, true, false, false, false};
  const auto m = score_yes_no(predictions, labels);
  CHECK(m.true_positive == 2);
  CHECK(m.false_negative == 1);
  CHECK(m.false_positive == 1);
  CHECK(m.true_negative == 2);
  CHECK(m.accuracy == Approx(4.0 / 6));
  CHECK(m.precision == Approx(2.0 / 3));
  CHECK(m.recall == Approx(2.0 / 3));
  CHECK(m.f1 == Approx(2.0 / 3));
  CHECK(m.yes_ratio == Approx(3.0 / 6));
  CHECK_THROWS_AS(score_yes_no({"yes"}, {true, false}), std::invalid_argument);
}

}  // namespace test_eval_metrics
