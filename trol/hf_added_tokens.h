// The "added tokens" of a Hugging Face tokenizer folder: tokens kept whole, with ids of their
// own beyond (or inside) the SentencePiece vocabulary, e.g. Phi-3's <|user|> = 32010,
// <|end|> = 32007, or InternLM2's [UNUSED_TOKEN_146]. Read from tokenizer_config.json
// (added_tokens_decoder), added_tokens.json and tokenizer.json (added_tokens), whichever exist.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace trol {

// token -> id; empty when the folder has none of the files. Throws std::runtime_error naming
// the file for malformed JSON, and for one token given two different ids.
std::map<std::string, int64_t> read_hf_added_tokens(const std::string& dir);

// The id of one added token (e.g. "<image>") of the folder's tokenizer; nullopt when absent.
std::optional<int64_t> added_token_id(const std::string& dir, const std::string& token);

}  // namespace trol
