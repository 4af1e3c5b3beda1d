// LLaVA-format datasets: JSON arrays and JSON Lines, good records kept, bad ones reported with
// file:line and skipped or fatal by policy.
#include "tests/catch.h"

#include "data/llava_reader.h"
#include "tokenizer_fixture.h"

namespace test_llava_reader {

using namespace trol;
using namespace trol::test;

namespace {

// Four good records: multi-turn with an image (and brackets/quotes inside strings, which the
// line scanner must not count), a text-only one with a numeric id, an image list with
// user/assistant roles, and an image without placeholder.
const std::string kRecord1 =
    R"({"id": "a1", "image": "coco/1.jpg", "conversations": [{"from": "human", "value": "<image>\nWhat is [this] {x} \"quoted\"?"}, {"from": "gpt", "value": "A cat."}, {"from": "human", "value": "Color?"}, {"from": "gpt", "value": "Black."}]})";
const std::string kRecord2 =
    R"({"id": 17, "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]})";
const std::string kRecord3 =
    R"({"id": "a3", "image": ["x.jpg", "y.jpg"], "conversations": [{"from": "user", "value": "<image> vs <image>"}, {"from": "assistant", "value": "Same."}]})";
const std::string kRecord4 =
    R"({"id": "a4", "image": "z.jpg", "conversations": [{"from": "human", "value": "Describe."}, {"from": "gpt", "value": "A dog."}]})";

void check_good_records(const std::vector<Conversation>& c) {
  REQUIRE(c.size() == 4);
  CHECK(c[0].id == "a1");
  CHECK(c[0].images == std::vector<std::string>{"coco/1.jpg"});
  REQUIRE(c[0].turns.size() == 4);
  CHECK(c[0].turns[0].from == "human");
  CHECK(c[0].turns[0].value == "<image>\nWhat is [this] {x} \"quoted\"?");
  CHECK(c[0].turns[3].value == "Black.");
  CHECK(c[1].id == "17");
  CHECK(c[1].images.empty());
  CHECK(c[2].images == std::vector<std::string>{"x.jpg", "y.jpg"});
  CHECK(c[2].turns[1].from == "assistant");
  // LLaVA's convention for an image without a placeholder.
  CHECK(c[3].turns[0].value == "<image>\nDescribe.");
  for (const auto& conversation : c) CHECK(conversation_problem(conversation, true).empty());
}

std::string runtime_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no runtime_error";
}

}  // namespace

TEST_CASE("a pretty-printed JSON array is read with the line of every record", "[llava_reader]") {
  TempDir dir("llava_array");
  // Record 1 spread over lines 2-7, the others one per line (8, 9, 10).
  std::string record1 = kRecord1;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"image\"", "\n  \"image\""}, {"\"conversations\"", "\n  \"conversations\""},
           {"{\"from\": \"gpt\", \"value\": \"A", "\n    {\"from\": \"gpt\", \"value\": \"A"},
           {"{\"from\": \"human\", \"value\": \"Color", "\n    {\"from\": \"human\", \"value\": \"Color"},
           {"{\"from\": \"gpt\", \"value\": \"Black", "\n    {\"from\": \"gpt\", \"value\": \"Black"}}) {
    record1.replace(record1.find(from), from.size(), to);
  }
  const auto path = dir.write("data.json", "[\n  " + record1 + ",\n  " + kRecord2 + ",\n  " + kRecord3 + ",\n  " +
                                               kRecord4 + "\n]\n");
  ReadReport report;
  const auto c = read_llava_file(path, OnError::Fail, &report);
  check_good_records(c);
  CHECK(report.read == 4);
  CHECK(report.skipped == 0);
  CHECK(report.problems.empty());
  CHECK(c[0].source_file == path);
  CHECK(c[0].source_line == 2);
  CHECK(c[1].source_line == 8);
  CHECK(c[2].source_line == 9);
  CHECK(c[3].source_line == 10);
  CHECK(c[3].source_index == 3);
}

TEST_CASE("a JSONL file is read line by line, blank lines ignored", "[llava_reader]") {
  TempDir dir("llava_jsonl");
  const auto path = dir.write("data.jsonl", kRecord1 + "\n" + kRecord2 + "\n\n" + kRecord3 + "\r\n" + kRecord4);
  ReadReport report;
  const auto c = read_llava_file(path, OnError::Fail, &report);
  check_good_records(c);
  CHECK(report.read == 4);
  CHECK(c[0].source_line == 1);
  CHECK(c[2].source_line == 4);
  CHECK(c[3].source_line == 5);
  CHECK(c[3].source_index == -1);
  // Detection is by content: the same lines under a .json name read the same.
  const auto json_named = dir.write("data.json", kRecord1 + "\n" + kRecord2 + "\n" + kRecord3 + "\n" + kRecord4 + "\n");
  check_good_records(read_llava_file(json_named, OnError::Fail, nullptr));
  CHECK(read_llava_file(dir.write("empty.jsonl", ""), OnError::Fail, nullptr).empty());
}

TEST_CASE("bad JSONL records are counted and reported with file:line, skipped or fatal", "[llava_reader]") {
  TempDir dir("llava_bad_jsonl");
  const std::vector<std::string> lines = {
      kRecord2,                                                                           // 1 good
      R"({"id": "b2", "conversations": [)",                                               // 2 broken JSON
      R"({"id": "b3"})",                                                                  // 3 no conversations
      R"({"id": "b4", "conversations": [{"from": "human", "value": 5}]})",                // 4 wrong type
      R"({"id": "b5", "conversations": [{"from": "human", "value": "Q?"}]})",             // 5 no answer
      R"({"id": "b6", "image": ["a.jpg", "b.jpg"], "conversations": [{"from": "human", "value": "<image> Q"}, {"from": "gpt", "value": "A"}]})",
      R"({"id": "b7", "image": 3, "conversations": []})",                                 // 7 wrong image type
      R"([1, 2])",                                                                        // 8 not an object
      R"({"id": "b9", "conversations": [{"from": "human"}, {"from": "gpt", "value": "A"}]})",  // 9 missing value
      kRecord4,                                                                           // 10 good
  };
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  const auto path = dir.write("bad.jsonl", text);

  ReadReport report;
  const auto c = read_llava_file(path, OnError::Skip, &report);
  REQUIRE(c.size() == 2);
  CHECK(c[0].id == "17");
  CHECK(c[1].id == "a4");
  CHECK(c[1].source_line == 10);
  CHECK(report.read == 2);
  CHECK(report.skipped == 8);
  REQUIRE(report.problems.size() == 8);
  CHECK_THAT(report.problems[0], Catch::Matchers::StartsWith(path + ":2: invalid JSON: parse error at column"));
  CHECK(report.problems[1] == path + ":3: id 'b3': missing 'conversations'");
  CHECK(report.problems[2] == path + ":4: id 'b4': conversations[0].value: expected a string, got a number");
  CHECK_THAT(report.problems[3], Catch::Matchers::StartsWith(path + ":5: id 'b5': conversation without an answer"));
  CHECK(report.problems[4] == path + ":6: id 'b6': 1 <image> placeholder(s) for 2 image(s)");
  CHECK(report.problems[5] == path + ":7: id 'b7': image: expected a string or a list of strings, got a number");
  CHECK(report.problems[6] == path + ":8: expected a JSON object, got a list");
  CHECK(report.problems[7] == path + ":9: id 'b9': conversations[0]: missing 'value'");

  ReadReport fail_report;
  const auto message = runtime_error_of([&] { read_llava_file(path, OnError::Fail, &fail_report); });
  CHECK_THAT(message, Catch::Matchers::StartsWith(path + ":2: invalid JSON"));
  CHECK(fail_report.read == 1);
  CHECK(fail_report.problems.size() == 1);
}

TEST_CASE("bad records in a JSON array name their line and index", "[llava_reader]") {
  TempDir dir("llava_bad_array");
  const std::string bad_roles =
      R"({"id": "c2", "conversations": [{"from": "gpt", "value": "A"}, {"from": "human", "value": "Q"}]})";
  const std::string no_from = R"({"id": "c3", "conversations": [{"value": "Q"}, {"from": "gpt", "value": "A"}]})";
  const auto path = dir.write("bad.json", "[\n" + kRecord2 + ",\n" + bad_roles + ",\n" + no_from + ",\n42,\n" +
                                              kRecord4 + "\n]");
  ReadReport report;
  const auto c = read_llava_file(path, OnError::Skip, &report);
  REQUIRE(c.size() == 2);
  CHECK(c[1].source_line == 6);
  CHECK(c[1].source_index == 4);
  CHECK(report.skipped == 3);
  REQUIRE(report.problems.size() == 3);
  CHECK(report.problems[0] ==
        path + ":3: [1] id 'c2': conversations[0]: expected a human turn, got 'gpt' "
               "(human and gpt turns must alternate, starting with human)");
  CHECK(report.problems[1] == path + ":4: [2] id 'c3': conversations[0]: missing 'from'");
  CHECK(report.problems[2] == path + ":5: [3]: expected a JSON object, got a number");
  CHECK_THAT(runtime_error_of([&] { read_llava_file(path, OnError::Fail, nullptr); }),
             Catch::Matchers::StartsWith(path + ":3: [1] id 'c2'"));

  // A minified array is one line: the index tells the records apart.
  const auto minified = dir.write("min.json", "[" + kRecord2 + "," + bad_roles + "," + kRecord4 + "]");
  ReadReport min_report;
  CHECK(read_llava_file(minified, OnError::Skip, &min_report).size() == 2);
  REQUIRE(min_report.problems.size() == 1);
  CHECK_THAT(min_report.problems[0], Catch::Matchers::StartsWith(minified + ":1: [1] id 'c2'"));
}

TEST_CASE("unreadable files are errors naming the file and the position", "[llava_reader]") {
  TempDir dir("llava_errors");
  const auto missing = dir.file("nope.json");
  CHECK_THAT(runtime_error_of([&] { read_llava_file(missing, OnError::Skip, nullptr); }),
             ContainsSubstring(missing) && ContainsSubstring("no such file"));
  // A syntax error breaks the whole array (nothing after it can be read): fatal even under Skip.
  const auto broken = dir.write("broken.json", "[\n" + kRecord2 + ",\n{\"id\" \"b\"}\n]\n");
  const auto message = runtime_error_of([&] { read_llava_file(broken, OnError::Skip, nullptr); });
  CHECK_THAT(message, Catch::Matchers::StartsWith(broken + ":3: invalid JSON (byte ") &&
                          ContainsSubstring("parse error at line 3, column ") && ContainsSubstring("syntax error"));
  const auto truncated = dir.write("truncated.json", "[\n" + kRecord2 + ",\n" + kRecord4.substr(0, 40));
  CHECK_THAT(runtime_error_of([&] { read_llava_file(truncated, OnError::Skip, nullptr); }),
             ContainsSubstring(truncated + ":3: invalid JSON"));
}

}  // namespace test_llava_reader
