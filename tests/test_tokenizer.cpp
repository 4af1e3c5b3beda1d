// The SentencePiece tokenizer: real training, the command-line encoder as the reference,
// special tokens kept whole, clear errors.
#include "tests/catch.h"

#include <algorithm>
#include <functional>
#include <thread>

#include "data/tokenizer.h"
#include "tokenizer_fixture.h"

namespace test_tokenizer {

using namespace trol;
using namespace trol::test;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a trained model has the reserved ids, the user symbols as single pieces, and byte fallback",
          "[tokenizer]") {
  const auto tok = Tokenizer::load(tiny_tokenizer_model());
  CHECK(tok.sentencepiece_size() == kTinyVocabSize);
  CHECK(tok.vocab_size() == kTinyVocabSize);
  CHECK(tok.unk_id() == 0);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.pad_id() == 3);  // the model defines <pad>
  CHECK(tok.piece(1) == "<s>");
  CHECK(tok.piece(3) == "<pad>");
  // User-defined symbols follow the reserved ids, in order.
  CHECK(tok.token_id("<|user|>") == 4);
  CHECK(tok.token_id("<|end|>") == 5);
  CHECK(tok.token_id("<|assistant|>") == 6);
  CHECK(tok.token_id("<image>") == 7);
  CHECK(tok.token_id("<0x0A>") == 8 + 0x0A);  // the 256 byte pieces come next
  // Even without a special-token list, SentencePiece keeps its user-defined symbols whole, but
  // puts its dummy-prefix "▁" before them: one reason special tokens are cut out first.
  CHECK(tok.encode("<|end|>") == std::vector<int64_t>{tok.token_id("▁"), 5});
  CHECK(Tokenizer::load(tiny_tokenizer_model(), {"<|end|>"}).encode("<|end|>") == std::vector<int64_t>{5});
  // A character never seen in training falls back to its UTF-8 bytes, never <unk>.
  const auto emoji = tok.encode("🙂");
  for (const auto id : emoji) CHECK(id != tok.unk_id());
  CHECK(tok.decode(emoji) == "🙂");
  CHECK(tok.encode("hello", true).front() == tok.bos_id());
}

TEST_CASE("encode then decode gives the text back, non-ASCII and whitespace included", "[tokenizer]") {
  const auto tok = Tokenizer::load(tiny_tokenizer_model(), {"<|user|>", "<|end|>", "<s>", "</s>", "[UNUSED_TOKEN_146]"});
  for (const std::string text :
       {"the cat sat on the mat", "Größe 日本語 ça va", "Die Größe ist groß.", "an unseen emoji 🙂 and ñ",
        "  two leading spaces", "trailing space ", "tabs\tand\nnewlines\n", "digits 12345 and 6.7", "",
        "<|user|>\nWhat is in this image?<|end|>\n", "<s>[UNUSED_TOKEN_146]system\nok</s>", "a<|end|><|end|>b"}) {
    INFO(text);
    CHECK(tok.decode(tok.encode(text)) == text);
  }
}

TEST_CASE("ids match the spm_encode command-line tool", "[tokenizer]") {
  const auto& model = tiny_tokenizer_model();
  const auto tok = Tokenizer::load(model);
  for (const std::string text : {"the cat sat on the mat", "Größe 日本語 ça va", "ça va très bien, merci.",
                                 "What is the color of the car? It looks red.", "There are 12 cats and 345 dogs.",
                                 "unseen words: zebra 🙂", "  spaced   out  "}) {
    INFO(text);
    const auto ids = tok.encode(text);
    CHECK(ids == spm_encode_cli(model, text));
    CHECK(ids.size() > 1);
  }
}

TEST_CASE("special tokens are single ids, appended after the vocabulary when the model lacks them",
          "[tokenizer]") {
  const std::vector<std::string> specials = {"<|user|>", "[UNUSED_TOKEN_146]", "<s>",       "</s>",
                                             "<|endoftext|>", "<|end|>",           "<IMG_CONTEXT>", "<|user|>"};
  const auto tok = Tokenizer::load(tiny_tokenizer_model(), specials);
  // In the model already: its ids (user-defined symbols and the control symbols <s>, </s>).
  CHECK(tok.token_id("<|user|>") == 4);
  CHECK(tok.token_id("<|end|>") == 5);
  CHECK(tok.token_id("<s>") == 1);
  CHECK(tok.token_id("</s>") == 2);
  // Not in the model: appended in list order, as Hugging Face's added tokens; the duplicate once.
  CHECK(tok.token_id("[UNUSED_TOKEN_146]") == kTinyVocabSize);
  CHECK(tok.token_id("<|endoftext|>") == kTinyVocabSize + 1);
  CHECK(tok.token_id("<IMG_CONTEXT>") == kTinyVocabSize + 2);
  CHECK(tok.vocab_size() == kTinyVocabSize + 3);
  CHECK(tok.special_tokens().size() == 7);
  for (const auto& special : specials) {
    INFO(special);
    CHECK(tok.encode(special) == std::vector<int64_t>{tok.token_id(special)});
    CHECK(tok.is_special(tok.token_id(special)));
    CHECK(tok.decode({tok.token_id(special)}) == special);
  }
  // Never split, wherever they stand; the longest match wins (<|endoftext|> over <|end|>).
  const auto ids = tok.encode("x[UNUSED_TOKEN_146]y<|endoftext|><IMG_CONTEXT><IMG_CONTEXT>");
  CHECK(std::count(ids.begin(), ids.end(), tok.token_id("[UNUSED_TOKEN_146]")) == 1);
  CHECK(std::count(ids.begin(), ids.end(), tok.token_id("<|endoftext|>")) == 1);
  CHECK(std::count(ids.begin(), ids.end(), tok.token_id("<|end|>")) == 0);
  CHECK(std::count(ids.begin(), ids.end(), tok.token_id("<IMG_CONTEXT>")) == 2);
  // A bare SentencePiece model would cut the unknown marker into several pieces.
  CHECK(spm_encode_cli(tiny_tokenizer_model(), "[UNUSED_TOKEN_146]").size() > 1);
}

TEST_CASE("a Hugging Face folder's added tokens keep their ids, others are appended after them", "[tokenizer]") {
  TempDir dir("hf_added");
  std::filesystem::copy_file(tiny_tokenizer_model(), dir.file("tokenizer.model"));
  const auto base = kTinyVocabSize;
  // Phi-3 style: ids past the model's pieces, not in list order, one of them (<|end|>) a piece
  // the model has under another id (the folder decides, as Hugging Face does).
  dir.write("tokenizer_config.json", "{\"added_tokens_decoder\": {\"" + std::to_string(base + 10) +
                                         "\": {\"content\": \"<|user|>\", \"special\": true}, \"" +
                                         std::to_string(base + 7) + "\": {\"content\": \"<|end|>\"}}}");
  dir.write("added_tokens.json", "{\"<IMG_CONTEXT>\": " + std::to_string(base + 3) + ", \"<|end|>\": " +
                                     std::to_string(base + 7) + "}");
  const auto tok = Tokenizer::load(dir.file("tokenizer.model"), {"<|user|>", "[UNUSED_TOKEN_146]", "<s>"});
  CHECK(tok.token_id("<|user|>") == base + 10);
  CHECK(tok.token_id("<|end|>") == base + 7);
  CHECK(tok.token_id("<IMG_CONTEXT>") == base + 3);  // added by the folder, not listed: still whole
  CHECK(tok.token_id("<s>") == 1);
  CHECK(tok.token_id("[UNUSED_TOKEN_146]") == base + 11);  // the folder lacks it: after its largest id
  CHECK(tok.vocab_size() == base + 12);
  const auto ids = tok.encode("<|user|>the cat<IMG_CONTEXT><|end|>");
  CHECK(ids.front() == base + 10);
  CHECK(std::vector<int64_t>(ids.end() - 2, ids.end()) == std::vector<int64_t>{base + 3, base + 7});
  CHECK(tok.decode(ids) == "<|user|>the cat<IMG_CONTEXT><|end|>");

  dir.write("added_tokens.json", "{\"<|end|>\": 5}");  // disagrees with tokenizer_config.json
  CHECK_THROWS_WITH(Tokenizer::load(dir.file("tokenizer.model")), ContainsSubstring("added token '<|end|>' has id 5"));
  dir.write("added_tokens.json", "{\"<|end|>\": ");
  CHECK_THROWS_WITH(Tokenizer::load(dir.file("tokenizer.model")), ContainsSubstring("added_tokens.json: not valid JSON"));
}

TEST_CASE("text around special tokens encodes exactly as SentencePiece encodes it alone", "[tokenizer]") {
  const auto& model = tiny_tokenizer_model();
  const auto tok = Tokenizer::load(model, {"<|end|>", "[UNUSED_TOKEN_145]", "<image>", "<s>"});
  const std::string text = "<s>What is this?<|end|> The cat sat.[UNUSED_TOKEN_145]Größe<image><image> 日本語";
  const auto expected =
      cat({{1}, spm_encode_cli(model, "What is this?"), {tok.token_id("<|end|>")}, spm_encode_cli(model, " The cat sat."),
           {tok.token_id("[UNUSED_TOKEN_145]")}, spm_encode_cli(model, "Größe"), {7, 7}, spm_encode_cli(model, " 日本語")});
  CHECK(tok.encode(text) == expected);
  CHECK(tok.decode(expected) == text);
}

TEST_CASE("one tokenizer encodes and decodes from several threads at once", "[tokenizer]") {
  // Data loading encodes on worker threads; SentencePiece runs in its own link namespace
  // (data/sentencepiece_api.h), which must work from threads the main program created.
  const auto tok = Tokenizer::load(tiny_tokenizer_model(), {"<|user|>", "<|end|>", "[UNUSED_TOKEN_146]"});
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    texts.push_back("<|user|>\nsample " + std::to_string(i) + ": Größe 日本語 the cat sat on the mat<|end|>" +
                    std::string(i % 7, '!'));
  }
  std::vector<std::vector<int64_t>> expected;
  for (const auto& text : texts) expected.push_back(tok.encode(text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const auto ids = tok.encode(texts[i]);
          if (ids != expected[i] || tok.decode(ids) != texts[i]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("training is deterministic: the same corpus gives a byte-identical model", "[tokenizer]") {
  TempDir dir("tokenizer_determinism");
  const auto corpus = dir.write("corpus.txt", tiny_corpus_text());
  const auto prefix = dir.file("m");  // the model records its prefix, so both runs use the same one
  train_sentencepiece(corpus, prefix, kTinyVocabSize, tiny_user_symbols(), 3);
  const auto first_model = read_bytes(prefix + ".model");
  const auto first_vocab = read_bytes(prefix + ".vocab");
  std::filesystem::remove(prefix + ".model");
  std::filesystem::remove(prefix + ".vocab");
  train_sentencepiece(corpus, prefix, kTinyVocabSize, tiny_user_symbols(), 3);
  REQUIRE(!first_model.empty());
  CHECK(read_bytes(prefix + ".model") == first_model);
  CHECK(read_bytes(prefix + ".vocab") == first_vocab);
  CHECK_THAT(first_vocab, ContainsSubstring("<|assistant|>"));
}

TEST_CASE("pad falls back to eos when the model defines no <pad>", "[tokenizer]") {
  TempDir dir("tokenizer_nopad");
  const auto corpus = dir.write("corpus.txt", tiny_corpus_text());
  const auto command = "/usr/bin/spm_train --input='" + corpus + "' --model_prefix='" + dir.file("nopad") +
                       "' --vocab_size=350 --model_type=bpe --byte_fallback=true --pad_id=-1 --minloglevel=2 "
                       "> /dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  const auto tok = Tokenizer::load(dir.file("nopad.model"));
  CHECK(tok.pad_id() == tok.eos_id());
  CHECK(tok.eos_id() == 2);
}

TEST_CASE("tokenizer errors name the file, the piece or the id", "[tokenizer]") {
  TempDir dir("tokenizer_errors");
  const auto missing = dir.file("missing.model");
  const auto message = error_of([&] { Tokenizer::load(missing); });
  CHECK_THAT(message, ContainsSubstring(missing) && ContainsSubstring("no such file"));
  const auto garbage = dir.write("garbage.model", "this is not a protobuf");
  CHECK_THAT(error_of([&] { Tokenizer::load(garbage); }),
             ContainsSubstring(garbage) && ContainsSubstring("not a readable SentencePiece model"));
  CHECK_THROWS_AS(Tokenizer::load(missing), std::runtime_error);

  const auto tok = Tokenizer::load(tiny_tokenizer_model());
  CHECK_THROWS_AS(tok.token_id("<nope>"), std::invalid_argument);
  CHECK_THAT(error_of([&] { tok.token_id("<nope>"); }), ContainsSubstring("unknown piece '<nope>'"));
  CHECK(tok.token_id("<unk>") == 0);  // the unk piece itself is known
  CHECK_THROWS_AS(tok.decode({5, tok.vocab_size()}), std::out_of_range);
  CHECK_THAT(error_of([&] { tok.decode({-1}); }), ContainsSubstring("id -1"));
  CHECK_THROWS_AS(Tokenizer::load(tiny_tokenizer_model(), {""}), std::invalid_argument);

  const auto corpus = dir.write("corpus.txt", tiny_corpus_text());
  CHECK_THAT(error_of([&] { train_sentencepiece(dir.file("nothing.txt"), dir.file("m"), 300, {}, 0); }),
             ContainsSubstring("nothing.txt"));
  CHECK_THAT(error_of([&] { train_sentencepiece(corpus, dir.file("m"), 300, {"a,b"}, 0); }),
             ContainsSubstring("'a,b'"));
  CHECK_THAT(error_of([&] { train_sentencepiece(corpus, dir.file("m"), 100000, {}, 0); }),
             ContainsSubstring("Vocabulary size too high"));
}

}  // namespace test_tokenizer
