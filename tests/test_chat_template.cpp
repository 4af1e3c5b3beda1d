// Chat templates, token by token: every expected sequence below is written out by hand from
// the template layout (data/chat_template.h) and the ids of its segments.
#include "tests/catch.h"

#include <algorithm>
#include <functional>

#include "data/chat_template.h"
#include "tokenizer_fixture.h"

namespace test_chat_template {

using namespace trol;
using namespace trol::test;

namespace {

// An expected sample, built from prompt (unsupervised) and answer (supervised) pieces.
struct Expected {
  std::vector<int64_t> ids, labels;
  Expected& prompt(const std::vector<int64_t>& part) {
    ids.insert(ids.end(), part.begin(), part.end());
    labels.insert(labels.end(), part.size(), kIgnoredLabel);
    return *this;
  }
  Expected& answer(const std::vector<int64_t>& part) {
    ids.insert(ids.end(), part.begin(), part.end());
    labels.insert(labels.end(), part.begin(), part.end());
    return *this;
  }
};

Tokenizer tokenizer_for(const std::string& template_name) {
  return Tokenizer::load(tiny_tokenizer_model(), chat_template(template_name).special_tokens());
}

Conversation conversation(const std::string& id, std::vector<std::string> images, std::vector<Turn> turns) {
  Conversation c;
  c.id = id;
  c.images = std::move(images);
  c.turns = std::move(turns);
  return c;
}

std::vector<int64_t> repeat(int64_t id, int64_t n) { return std::vector<int64_t>(n, id); }

// The ids of `whole` after its prefix `head` (which it must start with): the answer tokens when
// the assistant header's last plain text runs into the answer ("\n" + "A cat.").
std::vector<int64_t> after(const std::vector<int64_t>& whole, const std::vector<int64_t>& head) {
  REQUIRE(whole.size() >= head.size());
  REQUIRE(std::equal(head.begin(), head.end(), whole.begin()));
  return std::vector<int64_t>(whole.begin() + head.size(), whole.end());
}

int64_t first_supervised(const EncodedSample& s) {
  const auto it = std::find_if(s.labels.begin(), s.labels.end(), [](int64_t l) { return l != kIgnoredLabel; });
  return it - s.labels.begin();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no invalid_argument";
}

}  // namespace

TEST_CASE("tiny template: one image, one exchange, token by token", "[chat_template]") {
  const auto chat = chat_template("tiny");
  const auto tok = tokenizer_for("tiny");
  // The tiny model has the template's markers as user-defined symbols; <s> is its control symbol.
  REQUIRE(tok.token_id("<s>") == 1);
  REQUIRE(tok.token_id("<|user|>") == 4);
  REQUIRE(tok.token_id("<|end|>") == 5);
  REQUIRE(tok.token_id("<|assistant|>") == 6);
  REQUIRE(tok.token_id("<image>") == 7);
  CHECK(chat.image_token() == "<image>");
  CHECK(tok.vocab_size() == kTinyVocabSize);  // nothing appended
  // "\n" on its own is SentencePiece's dummy-prefix "▁" and the newline byte (as Llama's 29871, 13).
  const auto nl = tok.encode("\n");
  CHECK(nl == std::vector<int64_t>{tok.token_id("▁"), 8 + 0x0A});
  auto enc = [&](const std::string& s) { return tok.encode(s); };

  const auto c = conversation("t1", {"cat.jpg"}, {{"human", "<image>\nWhat is this?"}, {"gpt", "A cat."}});
  const auto sample = encode_conversation(c, tok, chat, 3, 512, Truncation::Fail);
  REQUIRE(sample);
  Expected e;
  e.prompt({1, 4}).prompt(nl).prompt({7, 7, 7}).prompt(enc("\nWhat is this?")).prompt({5}).prompt(nl).prompt({6}).prompt(nl);
  e.answer(after(enc("\nA cat."), nl)).answer({5}).answer(nl);  // the answer, its <|end|>, the closing "\n"
  CHECK(sample->input_ids == e.ids);
  CHECK(sample->labels == e.labels);
  CHECK(sample->num_images == 1);
  CHECK(tok.decode(sample->input_ids) ==
        "<s><|user|>\n<image><image><image>\nWhat is this?<|end|>\n<|assistant|>\nA cat.<|end|>\n");
}

TEST_CASE("tiny template: multi-turn text-only conversation and its label mask", "[chat_template]") {
  const auto chat = chat_template("tiny");
  const auto tok = tokenizer_for("tiny");
  auto enc = [&](const std::string& s) { return tok.encode(s); };
  const auto nl = enc("\n");
  const auto c = conversation("t2", {},
                              {{"user", "How many cats?"}, {"assistant", "Two."}, {"human", "And dogs?"}, {"gpt", "Three dogs."}});
  const auto sample = encode_conversation(c, tok, chat, 3, 512, Truncation::Fail);
  REQUIRE(sample);
  Expected e;
  e.prompt({1, 4}).prompt(enc("\nHow many cats?")).prompt({5}).prompt(nl).prompt({6}).prompt(nl);
  e.answer(after(enc("\nTwo."), nl)).answer({5});
  e.prompt(nl).prompt({4}).prompt(enc("\nAnd dogs?")).prompt({5}).prompt(nl).prompt({6}).prompt(nl);
  e.answer(after(enc("\nThree dogs."), nl)).answer({5}).answer(nl);
  CHECK(sample->input_ids == e.ids);
  CHECK(sample->labels == e.labels);
  CHECK(sample->num_images == 0);
  // The mask by position: exactly the two answers with their <|end|>, and the final "\n".
  std::vector<size_t> supervised;
  for (size_t i = 0; i < sample->labels.size(); ++i) {
    if (sample->labels[i] != kIgnoredLabel) supervised.push_back(i);
  }
  const size_t a1 = e.ids.size() - after(enc("\nThree dogs."), nl).size() - 1 - nl.size();  // answer 2
  const size_t n1 = after(enc("\nTwo."), nl).size() + 1;
  const size_t start1 = 2 + enc("\nHow many cats?").size() + 1 + nl.size() + 1 + nl.size();
  std::vector<size_t> expected;
  for (size_t i = start1; i < start1 + n1; ++i) expected.push_back(i);
  for (size_t i = a1; i < e.ids.size(); ++i) expected.push_back(i);
  CHECK(supervised == expected);
  CHECK(sample->input_ids[start1 + n1 - 1] == 5);  // <|end|> closes answer 1 and is supervised
  CHECK(sample->labels[start1 + n1] == kIgnoredLabel);  // the separator after it is not
}

TEST_CASE("phi3 template: the authors' layout with the default system prompt and InternVL image markers",
          "[chat_template]") {
  const auto chat = chat_template("phi3");
  const auto tok = tokenizer_for("phi3");
  // Markers the tiny model has keep their ids; the others are appended in template order.
  REQUIRE(tok.token_id("<s>") == 1);
  REQUIRE(tok.token_id("</s>") == 2);
  REQUIRE(tok.token_id("<|system|>") == kTinyVocabSize);
  REQUIRE(tok.token_id("<|user|>") == 4);
  REQUIRE(tok.token_id("<|assistant|>") == 6);
  REQUIRE(tok.token_id("<|end|>") == 5);
  REQUIRE(tok.token_id("<img>") == kTinyVocabSize + 1);
  REQUIRE(tok.token_id("<IMG_CONTEXT>") == kTinyVocabSize + 2);
  REQUIRE(tok.token_id("</img>") == kTinyVocabSize + 3);
  CHECK(chat.image_token() == "<IMG_CONTEXT>");
  const std::string system = chat.default_system;
  CHECK_THAT(system, Catch::Matchers::StartsWith("You are AI model created by Byung-Kwan Lee") &&
                         Catch::Matchers::EndsWith("answers to the user's questions"));
  auto enc = [&](const std::string& s) { return tok.encode(s); };
  const auto nl = enc("\n");

  const auto c = conversation("p1", {"x.jpg"}, {{"human", "<image>\nDescribe the picture."}, {"gpt", "Two cats on a mat."}});
  const auto sample = encode_conversation(c, tok, chat, 4, 1024, Truncation::Fail);
  REQUIRE(sample);
  Expected e;
  e.prompt({1, 400}).prompt(enc("\n" + system)).prompt({5}).prompt(nl);
  e.prompt({4}).prompt(nl).prompt({401, 402, 402, 402, 402, 403}).prompt(enc("\nDescribe the picture.")).prompt({5});
  e.prompt(nl).prompt({6}).prompt(nl);
  e.answer(after(enc("\nTwo cats on a mat."), nl)).answer({5}).answer(nl).answer({2});  // ...<|end|>\n</s>, as the authors
  CHECK(sample->input_ids == e.ids);
  CHECK(sample->labels == e.labels);
  CHECK(tok.decode(sample->input_ids) == "<s><|system|>\n" + system +
                                             "<|end|>\n<|user|>\n<img><IMG_CONTEXT><IMG_CONTEXT><IMG_CONTEXT>"
                                             "<IMG_CONTEXT></img>\nDescribe the picture.<|end|>\n<|assistant|>\n"
                                             "Two cats on a mat.<|end|>\n</s>");

  // The prompt is the authors' make_instruction(): system, user and assistant_start joined by
  // "\n" (before their <IMG_CONTEXT> bundling, which we do by id).
  const auto prompt = encode_prompt(c, tok, chat, 4);
  const std::string authors = "<s><|system|>\n" + system + "<|end|>" + "\n" + "<|user|>\n" +
                              "<img><IMG_CONTEXT><IMG_CONTEXT><IMG_CONTEXT><IMG_CONTEXT></img>\nDescribe the picture." +
                              "<|end|>" + "\n" + "<|assistant|>\n";
  CHECK(tok.decode(prompt.input_ids) == authors);
  CHECK(prompt.labels.empty());
  CHECK(prompt.num_images == 1);
  CHECK(prompt.input_ids == std::vector<int64_t>(e.ids.begin(), e.ids.begin() + first_supervised(*sample)));
}

TEST_CASE("internlm2 template: XComposer2 markers, a system turn, <image> repeated", "[chat_template]") {
  const auto chat = chat_template("internlm2");
  const auto tok = tokenizer_for("internlm2");
  REQUIRE(tok.token_id("[UNUSED_TOKEN_146]") == kTinyVocabSize);
  REQUIRE(tok.token_id("[UNUSED_TOKEN_145]") == kTinyVocabSize + 1);
  REQUIRE(tok.token_id("<image>") == 7);
  CHECK(chat.image_token() == "<image>");
  auto enc = [&](const std::string& s) { return tok.encode(s); };
  const auto nl = enc("\n");
  const int64_t start = kTinyVocabSize, end = kTinyVocabSize + 1;

  const auto c = conversation("i1", {"a.png"}, {{"system", "Be brief."},
                                                {"human", "What color is the car?\n<image>"},
                                                {"gpt", "Red."}});
  const auto sample = encode_conversation(c, tok, chat, 5, 512, Truncation::Fail);
  REQUIRE(sample);
  Expected e;
  e.prompt({1, start}).prompt(enc("system\nBe brief.")).prompt({end}).prompt(nl);
  e.prompt({start}).prompt(enc("user\nWhat color is the car?\n")).prompt(repeat(7, 5)).prompt({end}).prompt(nl);
  e.prompt({start}).prompt(enc("assistant\n"));
  e.answer(after(enc("assistant\nRed."), enc("assistant\n"))).answer({end}).answer(nl).answer({2});
  CHECK(sample->input_ids == e.ids);
  CHECK(sample->labels == e.labels);
  CHECK(tok.decode(sample->input_ids) ==
        "<s>[UNUSED_TOKEN_146]system\nBe brief.[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]user\nWhat color is the car?\n"
        "<image><image><image><image><image>[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\nRed.[UNUSED_TOKEN_145]\n</s>");

  // Without a system turn the template's default (the authors' TroL prompt) is used.
  const auto no_system = conversation("i2", {}, {{"human", "Hi"}, {"gpt", "Hello."}});
  const auto s2 = encode_conversation(no_system, tok, chat, 5, 512, Truncation::Fail);
  REQUIRE(s2);
  CHECK_THAT(tok.decode(s2->input_ids), Catch::Matchers::StartsWith("<s>[UNUSED_TOKEN_146]system\nYou are AI model created by"));
}

TEST_CASE("every <image> becomes one run of the per-image token count", "[chat_template]") {
  const auto chat = chat_template("phi3");
  const auto tok = tokenizer_for("phi3");
  const int64_t img = tok.token_id("<img>"), ctx = tok.token_id("<IMG_CONTEXT>"), img_end = tok.token_id("</img>");
  const auto c = conversation("m1", {"a.jpg", "b.jpg", "c.jpg"},
                              {{"human", "<image>\n<image>\nCompare them."}, {"gpt", "Same."},
                               {"human", "And this one? <image>"}, {"gpt", "Different."}});
  // Dynamic tiles: each image its own count (e.g. tiles × 256).
  const auto sample = encode_conversation(c, tok, chat, std::vector<int64_t>{3, 5, 2}, 4096, Truncation::Fail);
  REQUIRE(sample);
  const auto& ids = sample->input_ids;
  CHECK(std::count(ids.begin(), ids.end(), ctx) == 10);
  CHECK(std::count(ids.begin(), ids.end(), img) == 3);
  CHECK(std::count(ids.begin(), ids.end(), img_end) == 3);
  CHECK(sample->num_images == 3);
  // Runs are contiguous and in order: <img>, count × context, </img>.
  const auto first = std::find(ids.begin(), ids.end(), img) - ids.begin();
  CHECK(std::vector<int64_t>(ids.begin() + first, ids.begin() + first + 5) ==
        std::vector<int64_t>{img, ctx, ctx, ctx, img_end});
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == img || ids[i] == ctx || ids[i] == img_end) CHECK(sample->labels[i] == kIgnoredLabel);
  }
  const auto same = encode_conversation(c, tok, chat, 6, 4096, Truncation::Fail);
  REQUIRE(same);
  CHECK(std::count(same->input_ids.begin(), same->input_ids.end(), ctx) == 18);
  CHECK_THAT(error_of([&] { encode_conversation(c, tok, chat, std::vector<int64_t>{3, 5}, 4096, Truncation::Fail); }),
             ContainsSubstring("2 image token counts given for 3 image(s)"));
}

TEST_CASE("truncation cuts text, but never through or past an image run, nor every answer token",
          "[chat_template]") {
  const auto chat = chat_template("tiny");
  const auto tok = tokenizer_for("tiny");
  auto c = conversation("long1", {"a.jpg"}, {{"human", "<image>\nWhat is this?"}, {"gpt", "A cat sat on the mat."}});
  c.source_file = "train.jsonl";
  c.source_line = 42;
  const auto full = encode_conversation(c, tok, chat, 4, 4096, Truncation::Fail);
  REQUIRE(full);
  const int64_t length = full->input_ids.size();
  const int64_t image_begin = 2 + tok.encode("\n").size();  // <s> <|user|> "\n" then the run
  REQUIRE(full->input_ids[image_begin] == 7);
  REQUIRE(full->input_ids[image_begin + 3] == 7);
  const int64_t answer = first_supervised(*full);

  SECTION("a cut in the answer keeps the prefix") {
    const auto cut = encode_conversation(c, tok, chat, 4, answer + 2, Truncation::Fail);
    REQUIRE(cut);
    CHECK(cut->input_ids == std::vector<int64_t>(full->input_ids.begin(), full->input_ids.begin() + answer + 2));
    CHECK(cut->labels == std::vector<int64_t>(full->labels.begin(), full->labels.begin() + answer + 2));
    CHECK(cut->num_images == 1);
    const auto whole = encode_conversation(c, tok, chat, 4, length, Truncation::Fail);
    REQUIRE(whole);
    CHECK(whole->input_ids == full->input_ids);
  }
  SECTION("a cut inside the image run drops the sample, or fails naming it") {
    CHECK_FALSE(encode_conversation(c, tok, chat, 4, image_begin + 2, Truncation::Drop));
    const auto message = error_of([&] { encode_conversation(c, tok, chat, 4, image_begin + 2, Truncation::Fail); });
    CHECK_THAT(message, ContainsSubstring("conversation 'long1' (train.jsonl:42)") &&
                            ContainsSubstring("exceed max_length " + std::to_string(image_begin + 2)) &&
                            ContainsSubstring("cut through image 0"));
  }
  SECTION("a cut that leaves no answer token drops the sample, or fails") {
    CHECK_FALSE(encode_conversation(c, tok, chat, 4, answer, Truncation::Drop));
    CHECK_THAT(error_of([&] { encode_conversation(c, tok, chat, 4, answer, Truncation::Fail); }),
               ContainsSubstring("leave no answer token"));
  }
  SECTION("a cut before a later image would lose that image") {
    auto two = conversation("long2", {"a.jpg", "b.jpg"},
                            {{"human", "<image>\nWhat is this?"}, {"gpt", "A cat."}, {"human", "<image>\nAnd this?"},
                             {"gpt", "A dog."}});
    const auto whole = encode_conversation(two, tok, chat, 4, 4096, Truncation::Fail);
    REQUIRE(whole);
    const auto& ids = whole->input_ids;
    const int64_t second_image = std::find(ids.begin() + image_begin + 4, ids.end(), 7) - ids.begin();
    CHECK_FALSE(encode_conversation(two, tok, chat, 4, second_image, Truncation::Drop));
    CHECK_THAT(error_of([&] { encode_conversation(two, tok, chat, 4, second_image, Truncation::Fail); }),
               ContainsSubstring("drop image 1"));
    CHECK(encode_conversation(two, tok, chat, 4, second_image + 4, Truncation::Drop));  // run complete: cut ok
  }
  CHECK_THAT(error_of([&] { encode_conversation(c, tok, chat, 4, 0, Truncation::Drop); }),
             ContainsSubstring("max_length must be positive"));
}

TEST_CASE("encode_prompt stops at the assistant header of the last exchange", "[chat_template]") {
  const auto chat = chat_template("tiny");
  const auto tok = tokenizer_for("tiny");
  const auto answered = conversation("g1", {"a.jpg"}, {{"human", "<image>\nWhat is this?"}, {"gpt", "A cat."},
                                                       {"human", "Sure?"}, {"gpt", "Yes."}});
  const auto full = encode_conversation(answered, tok, chat, 2, 512, Truncation::Fail);
  REQUIRE(full);
  // Last answer dropped: the prompt is the training sample up to the last answer's first token.
  const auto prompt = encode_prompt(answered, tok, chat, 2);
  const auto last_answer =
      full->input_ids.size() - after(tok.encode("\nYes."), tok.encode("\n")).size() - 1 - tok.encode("\n").size();
  CHECK(prompt.input_ids == std::vector<int64_t>(full->input_ids.begin(), full->input_ids.begin() + last_answer));
  CHECK(prompt.labels.empty());
  CHECK(prompt.num_images == 1);
  // Ending with the question: the same prompt.
  auto open = answered;
  open.turns.pop_back();
  CHECK(encode_prompt(open, tok, chat, 2).input_ids == prompt.input_ids);
  CHECK_THAT(tok.decode(prompt.input_ids), Catch::Matchers::EndsWith("<|end|>\n<|user|>\nSure?<|end|>\n<|assistant|>\n"));
  // No answer needed for a prompt, but a question is.
  const auto only_system = conversation("g2", {}, {{"system", "x"}});
  CHECK_THAT(error_of([&] { encode_prompt(only_system, tokenizer_for("phi3"), chat_template("phi3"), 1); }),
             ContainsSubstring("conversation 'g2'") && ContainsSubstring("no human turn to answer"));
}

TEST_CASE("malformed conversations are errors naming the conversation", "[chat_template]") {
  const auto chat = chat_template("tiny");
  const auto tok = tokenizer_for("tiny");
  auto encode = [&](Conversation c) { return error_of([&] { encode_conversation(c, tok, chat, 2, 512, Truncation::Fail); }); };

  auto mismatch = conversation("m1", {"a.jpg", "b.jpg"}, {{"human", "<image>\nWhat?"}, {"gpt", "A cat."}});
  mismatch.source_file = "data.json";
  mismatch.source_line = 12;
  mismatch.source_index = 3;
  CHECK_THAT(encode(mismatch), ContainsSubstring("conversation 'm1' (data.json:12, record [3])") &&
                                   ContainsSubstring("1 <image> placeholder(s) for 2 image(s)"));
  CHECK_THAT(encode(conversation("q1", {}, {{"human", "Anyone?"}})),
             ContainsSubstring("conversation 'q1'") && ContainsSubstring("conversation without an answer"));
  CHECK_THAT(encode(conversation("q2", {}, {{"human", "Anyone?"}, {"gpt", ""}})),
             ContainsSubstring("conversation without an answer"));
  CHECK_THAT(encode(conversation("q3", {}, {{"human", "A"}, {"gpt", "B"}, {"human", "C"}})),
             ContainsSubstring("conversations[2]: the last human turn has no answer"));
  CHECK_THAT(encode(conversation("r1", {}, {{"human", "A"}, {"human", "B"}, {"gpt", "C"}})),
             ContainsSubstring("conversations[1]: expected a gpt turn, got 'human'"));
  CHECK_THAT(encode(conversation("r2", {}, {{"gpt", "A"}, {"human", "B"}})),
             ContainsSubstring("conversations[0]: expected a human turn"));
  CHECK_THAT(encode(conversation("r3", {}, {{"human", "A"}, {"bot", "B"}})), ContainsSubstring("unknown role 'bot'"));
  CHECK_THAT(encode(conversation("r4", {"a.jpg"}, {{"human", "A"}, {"gpt", "<image> B"}})),
             ContainsSubstring("placeholder in a gpt answer"));
  CHECK_THAT(encode(conversation("s1", {}, {{"system", "Be nice."}, {"human", "A"}, {"gpt", "B"}})),
             ContainsSubstring("conversation 's1'") && ContainsSubstring("'tiny' has no system prompt"));
  CHECK(encode(conversation("s2", {}, {{"system", ""}, {"human", "A"}, {"gpt", "B"}})) == "no invalid_argument");

  // A tokenizer that would split the template's markers is refused.
  const auto plain = Tokenizer::load(tiny_tokenizer_model());
  CHECK_THAT(error_of([&] { encode_conversation(conversation("k", {}, {{"human", "A"}, {"gpt", "B"}}), plain, chat, 2, 512, Truncation::Fail); }),
             ContainsSubstring("does not keep '<s>' as one token"));
  // Image tokens typed into the text would be image positions without an image.
  const auto phi3 = chat_template("phi3");
  CHECK_THAT(error_of([&] {
               encode_conversation(conversation("k2", {}, {{"human", "<IMG_CONTEXT> hi"}, {"gpt", "B"}}),
                                   tokenizer_for("phi3"), phi3, 2, 512, Truncation::Fail);
             }),
             ContainsSubstring("image token '<IMG_CONTEXT>'"));
}

TEST_CASE("templates are looked up by name", "[chat_template]") {
  CHECK(chat_template("phi3").eos == "</s>");
  CHECK(chat_template("internlm2").system_start == "[UNUSED_TOKEN_146]system\n");
  CHECK(chat_template("tiny").system_start.empty());
  CHECK(chat_template("internlm2").special_tokens() ==
        std::vector<std::string>{"<s>", "</s>", "[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_145]", "<image>"});
  CHECK_THAT(error_of([] { chat_template("llama"); }),
             ContainsSubstring("unknown chat template 'llama'") && ContainsSubstring("phi3, internlm2, tiny"));
}

}  // namespace test_chat_template
