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

}  // namespace test_eval_metrics
