#include "data/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "trol/hf_added_tokens.h"
#include "data/sentencepiece_api.h"

namespace trol {

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Sinks the module writes its results into (it keeps ownership; we copy).
void append_bytes(void* context, const char* data, size_t size) { static_cast<std::string*>(context)->append(data, size); }
void append_ids(void* context, const int* ids, size_t count) {
  auto* out = static_cast<std::vector<int64_t>*>(context);
  out->insert(out->end(), ids, ids + count);
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& model_file, const std::vector<std::string>& special_tokens) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_file, ec)) {
    throw std::runtime_error("tokenizer: cannot read " + quoted(model_file) + ": no such file");
  }
  const auto& api = sentencepiece_api();
  std::string error;
  void* processor = api.load(model_file.data(), model_file.size(), append_bytes, &error);
  if (!processor) {
    throw std::runtime_error("tokenizer: " + quoted(model_file) + " is not a readable SentencePiece model (" + error +
                             ")");
  }

  Tokenizer t;
  t.api_ = &api;
  t.processor_ = std::shared_ptr<const void>(processor, [release = api.release](const void* p) {
    release(const_cast<void*>(p));
  });
  t.model_file_ = model_file;
  t.sentencepiece_size_ = api.piece_size(processor);
  t.vocab_size_ = t.sentencepiece_size_;
  t.by_first_byte_.resize(256);
  const int64_t unk = api.unk_id(processor);
  const std::string unk_piece = unk >= 0 ? t.piece(unk) : std::string();
  // A Hugging Face tokenizer folder's added tokens keep their ids, and all of them are kept
  // whole, listed or not; tokens the folder does not define are appended after them.
  const auto added = read_hf_added_tokens(std::filesystem::path(model_file).parent_path().string());
  for (const auto& [token, id] : added) t.vocab_size_ = std::max(t.vocab_size_, id + 1);
  auto tokens = special_tokens;
  for (const auto& entry : added) tokens.push_back(entry.first);
  for (const auto& token : tokens) {
    if (token.empty()) throw std::invalid_argument("tokenizer " + quoted(model_file) + ": empty special token");
    if (t.special_ids_.count(token)) continue;  // listed twice: one id
    const auto fixed = added.find(token);
    int64_t id = fixed != added.end() ? fixed->second : api.piece_to_id(processor, token.data(), token.size());
    // PieceToId answers unk for a piece it lacks; only the unk piece itself may map there.
    if (fixed == added.end() && id == unk && token != unk_piece) id = t.vocab_size_++;
    t.special_tokens_.push_back(token);
    t.special_ids_[token] = id;
    t.special_text_[id] = token;
    t.by_first_byte_[static_cast<unsigned char>(token[0])].push_back(token);
  }
  for (auto& group : t.by_first_byte_) {
    std::stable_sort(group.begin(), group.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }
  return t;
}

void Tokenizer::encode_plain(const std::string& text, std::vector<int64_t>& out) const {
  if (text.empty()) return;
  std::string error;
  if (api_->encode(processor_.get(), text.data(), text.size(), append_ids, &out, append_bytes, &error) != 0) {
    throw std::runtime_error("tokenizer " + quoted(model_file_) + ": cannot encode text (" + error + ")");
  }
}

std::vector<Tokenizer::Piece> Tokenizer::split(const std::string& text) const {
  std::vector<Piece> pieces;
  size_t plain_start = 0, i = 0;
  while (i < text.size()) {
    const std::string* match = nullptr;
    for (const auto& token : by_first_byte_[static_cast<unsigned char>(text[i])]) {
      if (text.compare(i, token.size(), token) == 0) {
        match = &token;  // the group is sorted longest first
        break;
      }
    }
    if (!match) {
      ++i;
      continue;
    }
    if (i > plain_start) pieces.push_back({plain_start, i, -1});
    pieces.push_back({i, i + match->size(), special_ids_.at(*match)});
    i += match->size();
    plain_start = i;
  }
  if (text.size() > plain_start) pieces.push_back({plain_start, text.size(), -1});
  return pieces;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_bos) const {
  std::vector<int64_t> out;
  if (add_bos) {
    if (bos_id() < 0) throw std::invalid_argument("tokenizer " + quoted(model_file_) + ": the model defines no bos");
    out.push_back(bos_id());
  }
  for (const auto& piece : split(text)) {
    if (piece.special_id >= 0) {
      out.push_back(piece.special_id);
    } else {
      encode_plain(text.substr(piece.begin, piece.end - piece.begin), out);
    }
  }
  return out;
}

bool Tokenizer::is_control(int64_t id) const {
  return id < sentencepiece_size_ && api_->is_control(processor_.get(), static_cast<int>(id)) != 0;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  std::vector<int> run;  // ordinary ids, decoded together as SentencePiece encoded them
  auto flush = [&] {
    if (run.empty()) return;
    std::string error;
    if (api_->decode(processor_.get(), run.data(), run.size(), append_bytes, &text, append_bytes, &error) != 0) {
      throw std::runtime_error("tokenizer " + quoted(model_file_) + ": cannot decode ids (" + error + ")");
    }
    run.clear();
  };
  for (const auto id : ids) {
    if (id < 0 || id >= vocab_size()) {
      throw std::out_of_range("tokenizer " + quoted(model_file_) + ": id " + std::to_string(id) +
                              " is outside the vocabulary [0, " + std::to_string(vocab_size()) + ")");
    }
    if (is_special(id) || is_control(id)) {
      flush();  // SentencePiece decodes control symbols to nothing; we skip nothing
      text += piece(id);
    } else {
      run.push_back(static_cast<int>(id));
    }
  }
  flush();
  return text;
}

int64_t Tokenizer::token_id(const std::string& piece_text) const {
  const auto special = special_ids_.find(piece_text);
  if (special != special_ids_.end()) return special->second;
  const int64_t id = api_->piece_to_id(processor_.get(), piece_text.data(), piece_text.size());
  if (id == unk_id() && piece_text != piece(id)) {
    throw std::invalid_argument("tokenizer " + quoted(model_file_) + ": unknown piece " + quoted(piece_text) +
                                " (neither in the SentencePiece vocabulary nor a special token)");
  }
  return id;
}

std::string Tokenizer::piece(int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("tokenizer " + quoted(model_file_) + ": id " + std::to_string(id) +
                            " is outside the vocabulary [0, " + std::to_string(vocab_size()) + ")");
  }
  const auto special = special_text_.find(id);
  if (special != special_text_.end()) return special->second;
  std::string text;
  api_->id_to_piece(processor_.get(), static_cast<int>(id), append_bytes, &text);
  return text;
}

int64_t Tokenizer::vocab_size() const { return vocab_size_; }
int64_t Tokenizer::sentencepiece_size() const { return sentencepiece_size_; }
int64_t Tokenizer::bos_id() const { return api_->bos_id(processor_.get()); }
int64_t Tokenizer::eos_id() const { return api_->eos_id(processor_.get()); }
int64_t Tokenizer::unk_id() const { return api_->unk_id(processor_.get()); }
int64_t Tokenizer::pad_id() const {
  const int64_t pad = api_->pad_id(processor_.get());
  return pad >= 0 ? pad : eos_id();
}

void train_sentencepiece(const std::string& corpus_file, const std::string& model_prefix, int64_t vocab_size,
                         const std::vector<std::string>& user_defined_symbols, uint64_t seed) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(corpus_file, ec)) {
    throw std::runtime_error("train_sentencepiece: cannot read corpus " + quoted(corpus_file) + ": no such file");
  }
  if (vocab_size <= 0) throw std::invalid_argument("train_sentencepiece: vocab_size must be positive");
  std::string symbols;
  for (const auto& symbol : user_defined_symbols) {
    // The trainer takes the list comma-separated, and its pieces never hold whitespace.
    if (symbol.empty() || symbol.find_first_of(", \t\n\r") != std::string::npos) {
      throw std::invalid_argument("train_sentencepiece: user-defined symbol " + quoted(symbol) +
                                  " must be non-empty, without ',' or whitespace");
    }
    symbols += (symbols.empty() ? "" : ",") + symbol;
  }
  // The key/value form of the trainer's argument string ("--input=... --vocab_size=..."): the
  // string form splits on spaces, so a path with a space in it would be cut apart.
  std::vector<std::pair<std::string, std::string>> args = {
      {"input", corpus_file},
      {"model_prefix", model_prefix},
      {"vocab_size", std::to_string(vocab_size)},
      {"model_type", "bpe"},
      {"byte_fallback", "true"},
      {"character_coverage", "1.0"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"split_digits", "true"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "3"},
      {"num_threads", "1"},
      {"minloglevel", "2"},  // quiet: errors come back as the failed status's message
  };
  if (!symbols.empty()) args.emplace_back("user_defined_symbols", symbols);  // "" would read as one empty symbol
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : args) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  // SentencePiece only draws random numbers when it samples the corpus (input_sentence_size),
  // but seeding keeps that deterministic too. (-1 is reserved for "seed from the device".)
  const auto seed32 = static_cast<unsigned int>(seed % 0xFFFFFFFFull);
  std::string error;
  if (sentencepiece_api().train(keys.data(), values.data(), keys.size(), seed32, append_bytes, &error) != 0) {
    throw std::runtime_error("train_sentencepiece: training on " + quoted(corpus_file) + " failed: " + error);
  }
}

}  // namespace trol
