// Shared by the tokenizer, chat-template and data tests: a temporary folder, and a tiny real
// SentencePiece model trained once per test process on a corpus written here.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace trol::test {

// A fresh, empty temporary folder, removed with everything in it by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("trol_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes `text` (bytes as given) to `name` in the folder and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The pieces the tiny model knows as user-defined symbols: the "tiny" template's markers and
// image token (so they get ids 4..7 right after unk, <s>, </s>, <pad>).
inline std::vector<std::string> tiny_user_symbols() { return {"<|user|>", "<|end|>", "<|assistant|>", "<image>"}; }

// A small deterministic corpus: English-like sentences from a fixed word list (a linear
// congruential generator, so every platform writes the same file), and some non-ASCII lines.
inline std::string tiny_corpus_text() {
  const std::vector<std::string> words = {
      "the", "a", "cat", "dog", "sat", "on", "mat", "image", "picture", "shows", "red", "blue", "green", "car",
      "tree", "house", "person", "what", "is", "in", "this", "describe", "answer", "question", "color", "big",
      "small", "two", "three", "man", "woman", "street", "sky", "How", "many", "are", "there", "The", "A",
      "What", "It", "looks", "like", "and", "with", "of", "photo", "left", "right", "?", ".", ","};
  std::string text;
  uint64_t state = 12345;
  auto next = [&state](uint64_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % n;
  };
  for (int line = 0; line < 400; ++line) {
    const auto length = 4 + next(9);
    for (uint64_t w = 0; w < length; ++w) text += (w ? " " : "") + words[next(words.size())];
    text += "\n";
  }
  text += "Die Größe ist groß.\n日本語のテキストです。\nça va très bien, merci.\nGröße 日本語 ça va\n";
  text += "There are 12 cats and 345 dogs.\n";
  return text;
}

constexpr int64_t kTinyVocabSize = 400;

// Trains the tiny model once per process (well under a second) and returns its .model path.
inline const std::string& tiny_tokenizer_model() {
  static TempDir dir("tokenizer_model");
  static const std::string model = [] {
    const auto corpus = dir.write("corpus.txt", tiny_corpus_text());
    train_sentencepiece(corpus, dir.file("tiny"), kTinyVocabSize, tiny_user_symbols(), 7);
    return dir.file("tiny.model");
  }();
  return model;
}

// Runs the installed SentencePiece command-line encoder on one line of text and returns its ids.
inline std::vector<int64_t> spm_encode_cli(const std::string& model, const std::string& text) {
  if (text.find('\n') != std::string::npos) throw std::invalid_argument("spm_encode_cli: one line only");
  TempDir dir("spm_encode");
  const auto input = dir.write("in.txt", text + "\n");
  const auto command = "/usr/bin/spm_encode --model='" + model + "' --output_format=id < '" + input + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  if (::pclose(pipe) != 0) throw std::runtime_error(command + " failed");
  std::vector<int64_t> ids;
  std::istringstream in(output);
  for (int64_t id; in >> id;) ids.push_back(id);
  return ids;
}

// Concatenation, for writing expected id sequences piece by piece.
inline std::vector<int64_t> cat(std::initializer_list<std::vector<int64_t>> parts) {
  std::vector<int64_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

}  // namespace trol::test
