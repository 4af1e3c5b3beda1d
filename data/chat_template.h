// Chat templates: how a conversation becomes token ids, and which of them the loss sees.
//
// A template is data (the marker strings around each part), so the three built-in ones and any
// new one go through the same code. A conversation is laid out as
//
//   bos
//   [system_start SYSTEM system_end separator]                 only if the template has one
//   user_start USER user_end separator assistant_start ANSWER assistant_end
//   [separator user_start USER ... assistant_end]              one more per further exchange
//   separator eos                                              the closing, after the last answer
//
// which is, for "phi3" (from the authors' code, trol/arch_phi3/modeling_trol.py `prompt_rule`
// and utils/utils.py `make_instruction`, which joins the blocks with "\n"):
//
//   <s><|system|>\nSYSTEM<|end|>\n<|user|>\nUSER<|end|>\n<|assistant|>\nANSWER<|end|>\n</s>
//
// (DESIGN.md writes "<|end|><|user|>" with nothing between; the authors' code puts "\n" between
// every two blocks, and that is what the released models saw, so it is followed here.)
//
// Labels are -100 except on what the assistant must produce: each ANSWER with its
// assistant_end, and, after the last answer, the closing (separator + eos), because the
// authors' `assistant_end` is "<|end|>\n</s>" and their labels cover all of it. (TroL's training
// code is not released; the same authors' Phantom code, utils/utils.py
// `make_instruction_and_label`, masks only the prompt. Multi-turn layout is ours: their code is
// single-turn.) Separators between exchanges are not supervised: generation stops at
// assistant_end.
//
// Marker strings typed into the data (a literal "<|end|>" in a question) become those markers,
// as with Hugging Face tokenizers; image tokens typed into the text are refused.
//
// Each `<image>` placeholder in a user turn becomes one run image_start, N × image_context,
// image_end (N = tokens per image, e.g. 256 per InternViT tile). Image runs are never
// supervised and never cut by truncation.
//
// Tokenization is that of the whole conversation as one string (as the authors' code does):
// the tokenizer cuts it at special tokens and SentencePiece encodes the plain stretches between
// them. Where a label boundary falls inside a plain stretch (the "\n" of assistant_start runs
// into the answer), the answer's labels start after the tokens the text before the boundary
// encodes to on its own; so the prompt encode_prompt() gives is exactly the prefix of the
// training sample, and the model learns to continue it the way it will be asked to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/conversation.h"
#include "data/tokenizer.h"

namespace trol {

// The label of a position the loss ignores (equals kIgnoreIndex in trol/causal_lm_loss.h).
constexpr int64_t kIgnoredLabel = -100;

struct ChatTemplate {
  std::string name;
  std::string bos;                    // once, at the start ("" for none)
  std::string system_start, system_end;  // empty system_start: the template has no system block
  std::string user_start, user_end;
  std::string assistant_start;        // where generation continues from
  std::string assistant_end;          // closes every answer (supervised)
  std::string separator;              // between blocks (not supervised)
  std::string eos;                    // after the closing separator, at the very end ("" for none)
  std::string default_system;         // the system text when the conversation has no system turn
  std::string image_start, image_context, image_end;  // one image = start, N × context, end
  std::vector<std::string> markers;   // the special tokens inside the strings above

  // Every string the tokenizer must keep as one id: the markers and the image tokens. Pass it
  // to Tokenizer::load.
  std::vector<std::string> special_tokens() const;

  // The token repeated for each image position (the model replaces its embeddings).
  std::string image_token() const { return image_context; }
};

// "phi3" (TroL-3.8B), "internlm2" (TroL-1.8B/7B) or "tiny" (the embedded default). Throws
// std::invalid_argument listing the known names.
ChatTemplate chat_template(const std::string& name);
std::vector<std::string> chat_template_names();

struct EncodedSample {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> labels;  // same length as input_ids (empty for prompts); kIgnoredLabel where unsupervised
  int64_t num_images = 0;
};

// What to do with a sample longer than max_length that cannot be cut at max_length because
// the cut would go through or drop an image run, or leave no supervised token. Samples that
// can be cut are cut.
enum class Truncation { Drop, Fail };

// Token ids and labels of a training conversation (see the layout above). `tokens_per_image`
// gives the run length of each image in order (one entry per image; the int64_t overload uses
// the same length for all). Returns nullopt for a sample dropped under Truncation::Drop.
// Throws std::invalid_argument naming the conversation (id, file:line) when it is malformed
// (conversation_problem with require_answer: roles, placeholder count, no answer), when the
// template uses a system prompt it has no block for, when the tokenizer does not keep one of
// the template's special tokens whole, or, under Truncation::Fail, when it cannot be cut.
std::optional<EncodedSample> encode_conversation(const Conversation& conversation, const Tokenizer& tokenizer,
                                                 const ChatTemplate& chat, int64_t tokens_per_image,
                                                 int64_t max_length, Truncation truncation);
std::optional<EncodedSample> encode_conversation(const Conversation& conversation, const Tokenizer& tokenizer,
                                                 const ChatTemplate& chat,
                                                 const std::vector<int64_t>& tokens_per_image, int64_t max_length,
                                                 Truncation truncation);

// The prompt for generation or evaluation: the conversation up to and including the assistant
// header of the last exchange. A final gpt turn's answer is left out (it is the reference), a
// final human turn gets the header appended. No labels, no truncation. Same errors as above,
// except that no answer is required.
EncodedSample encode_prompt(const Conversation& conversation, const Tokenizer& tokenizer, const ChatTemplate& chat,
                            int64_t tokens_per_image);
EncodedSample encode_prompt(const Conversation& conversation, const Tokenizer& tokenizer, const ChatTemplate& chat,
                            const std::vector<int64_t>& tokens_per_image);

}  // namespace trol
