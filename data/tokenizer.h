// Text <-> token ids through a SentencePiece model, with special tokens kept whole.
//
// Chat templates put markers such as `<|user|>`, `<|end|>`, `[UNUSED_TOKEN_146]` or the image
// token into the text. A bare SentencePiece model would split them into several pieces, so
// the tokenizer treats a list of special tokens the way Hugging Face's tokenizers treat their
// "added tokens": the text is first cut at every special token (longest match first), the
// plain stretches are encoded by SentencePiece each on its own, exactly as `spm_encode` would
// encode them, and each special token becomes one id.
//
// A special token keeps the id the SentencePiece model gives it when the model has the piece
// (a user-defined symbol such as `<|end|>`, a control symbol such as `<s>`); one the model
// lacks is appended after the model's vocabulary (id = model size + k, in list order). When the
// model file sits in a Hugging Face tokenizer folder, the folder's added tokens
// (trol/hf_added_tokens.h: Phi-3's <|user|> = 32010, ...) are special tokens with their ids,
// and tokens the folder lacks are appended after the largest of them.
//
// A loaded Tokenizer is immutable and cheap to copy (the model is shared); encode and decode
// may be called from several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct trol_spm_api;  // data/sentencepiece_api.h: SentencePiece lives behind a C boundary

namespace trol {

class Tokenizer {
 public:
  // Loads a SentencePiece `tokenizer.model`. Throws std::runtime_error naming the file if it
  // is missing or not a SentencePiece model, std::invalid_argument for an empty special token.
  static Tokenizer load(const std::string& model_file, const std::vector<std::string>& special_tokens = {});

  // Ids of `text`: special tokens become one id each, the text between them is encoded by
  // SentencePiece piece by piece. `add_bos` puts bos_id() first.
  std::vector<int64_t> encode(const std::string& text, bool add_bos = false) const;

  // How encode() cuts `text`: special tokens (their id) and the plain stretches between them
  // (special_id -1), as byte ranges [begin, end) of `text`, in order, covering all of it.
  struct Piece {
    size_t begin = 0, end = 0;
    int64_t special_id = -1;
  };
  std::vector<Piece> split(const std::string& text) const;

  // Text of `ids`. Special tokens and control symbols (`<s>`, `</s>`) decode to their text,
  // nothing is skipped; runs of ordinary ids are decoded by SentencePiece. Throws
  // std::out_of_range naming an id outside [0, vocab_size()).
  std::string decode(const std::vector<int64_t>& ids) const;

  // The id of one piece: a special token, or a piece of the SentencePiece vocabulary (as the
  // .vocab file spells it, e.g. "▁the"). Throws std::invalid_argument naming an unknown piece.
  int64_t token_id(const std::string& piece) const;

  // The piece of one id (special tokens: their text). Throws std::out_of_range.
  std::string piece(int64_t id) const;

  // SentencePiece's vocabulary plus the appended special tokens: the embedding rows needed.
  int64_t vocab_size() const;
  int64_t sentencepiece_size() const;  // the model's own vocabulary, without appended tokens

  bool is_special(int64_t id) const { return special_text_.count(id) != 0; }
  const std::vector<std::string>& special_tokens() const { return special_tokens_; }

  int64_t bos_id() const;  // -1 when the model defines none
  int64_t eos_id() const;  // -1 when the model defines none
  int64_t unk_id() const;
  // The id batches are padded with: the model's `<pad>` when it defines one, else eos_id()
  // (as the TroL code does: pad_token_id = eos_token_id). Padding is masked out of attention
  // and labels, so which id fills it only has to be a valid embedding row.
  int64_t pad_id() const;

  const std::string& model_file() const { return model_file_; }

 private:
  Tokenizer() = default;
  void encode_plain(const std::string& text, std::vector<int64_t>& out) const;
  bool is_control(int64_t id) const;

  const trol_spm_api* api_ = nullptr;
  std::shared_ptr<const void> processor_;  // a SentencePieceProcessor inside the module
  std::string model_file_;
  std::vector<std::string> special_tokens_;
  std::map<std::string, int64_t> special_ids_;      // text -> id
  std::map<int64_t, std::string> special_text_;     // id -> text
  // Special tokens grouped by first byte, longest first, for the longest-match split.
  std::vector<std::vector<std::string>> by_first_byte_;
  int64_t sentencepiece_size_ = 0;
  int64_t vocab_size_ = 0;  // the model's pieces, the folder's added tokens, then appended specials
};

// Trains a byte-pair-encoding SentencePiece model on `corpus_file` (one sentence per line),
// writing `<model_prefix>.model` and `<model_prefix>.vocab`. The recipe is the one of the
// Llama-family tokenizers TroL's backbones use (Phi-3, InternLM2): BPE with byte fallback (no
// text is ever <unk>), identity normalization and whitespace kept as is (so "\n" in chat
// templates survives), digits split; ids unk=0, bos=1 `<s>`, eos=2 `</s>`, pad=3 `<pad>`;
// `user_defined_symbols` follow as single pieces (none may contain ',' or whitespace). Training
// is single-threaded and seeded, so the same corpus and arguments give a byte-identical model.
// Throws std::runtime_error with SentencePiece's message on failure.
//
// (SentencePiece runs in a separate link namespace, not linked into trol: see
// data/sentencepiece_api.h for the protobuf clash that makes this necessary.)
void train_sentencepiece(const std::string& corpus_file, const std::string& model_prefix, int64_t vocab_size,
                         const std::vector<std::string>& user_defined_symbols, uint64_t seed);

}  // namespace trol
