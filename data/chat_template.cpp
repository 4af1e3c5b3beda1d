#include "data/chat_template.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace trol {

namespace {

// The system prompt of the authors' evaluation (utils/utils.py `make_instruction`, two
// sentences joined by a space, no final period): the released TroL models were used with it.
const std::string kTrolSystemPrompt =
    "You are AI model created by Byung-Kwan Lee, Ph.D. candidate, KAIST EE, of which AI model name is TroL "
    "(Traversal of Layers). You must give helpful, detailed, and polite answers to the user's questions";

ChatTemplate phi3_template() {
  ChatTemplate t;
  t.name = "phi3";
  t.bos = "<s>";
  t.system_start = "<|system|>\n";
  t.system_end = "<|end|>";
  t.user_start = "<|user|>\n";
  t.user_end = "<|end|>";
  t.assistant_start = "<|assistant|>\n";
  t.assistant_end = "<|end|>";
  t.separator = "\n";
  t.eos = "</s>";
  t.default_system = kTrolSystemPrompt;
  // InternVL's layout, as the authors' eval_process: "<image>" -> "<img><IMG_CONTEXT></img>",
  // then <IMG_CONTEXT> repeated (tiles × 256 times).
  t.image_start = "<img>";
  t.image_context = "<IMG_CONTEXT>";
  t.image_end = "</img>";
  t.markers = {"<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"};
  return t;
}

ChatTemplate internlm2_template() {
  // InternLM-XComposer2's format as in the authors' arch_internlm2 `prompt_rule`:
  // [UNUSED_TOKEN_146] is InternLM2's <|im_start|>, [UNUSED_TOKEN_145] its <|im_end|>.
  ChatTemplate t;
  t.name = "internlm2";
  t.bos = "<s>";
  t.system_start = "[UNUSED_TOKEN_146]system\n";
  t.system_end = "[UNUSED_TOKEN_145]";
  t.user_start = "[UNUSED_TOKEN_146]user\n";
  t.user_end = "[UNUSED_TOKEN_145]";
  t.assistant_start = "[UNUSED_TOKEN_146]assistant\n";
  t.assistant_end = "[UNUSED_TOKEN_145]";
  t.separator = "\n";
  t.eos = "</s>";
  t.default_system = kTrolSystemPrompt;
  // The authors expand "<image>" into N copies of itself (add_bundle_tokens) and find image
  // positions by its single id (config.image_token_index): no start/end markers.
  t.image_context = "<image>";
  t.markers = {"<s>", "</s>", "[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_145]"};
  return t;
}

ChatTemplate tiny_template() {
  ChatTemplate t;
  t.name = "tiny";
  t.bos = "<s>";
  t.user_start = "<|user|>\n";
  t.user_end = "<|end|>";
  t.assistant_start = "<|assistant|>\n";
  t.assistant_end = "<|end|>";
  t.separator = "\n";
  t.image_context = "<image>";
  t.markers = {"<s>", "<|user|>", "<|assistant|>", "<|end|>"};
  return t;
}

// A conversation as text parts and image runs, before tokenization. Adjacent text with the
// same supervision is one part.
struct Part {
  bool is_image = false;
  std::string text;
  bool supervised = false;
  int64_t image_tokens = 0;
};

class Layout {
 public:
  void text(const std::string& s, bool supervised) {
    if (s.empty()) return;
    if (!parts_.empty() && !parts_.back().is_image && parts_.back().supervised == supervised) {
      parts_.back().text += s;
    } else {
      parts_.push_back({false, s, supervised, 0});
    }
  }
  void image(int64_t tokens) { parts_.push_back({true, "", false, tokens}); }
  const std::vector<Part>& parts() const { return parts_; }

 private:
  std::vector<Part> parts_;
};

[[noreturn]] void fail(const Conversation& c, const std::string& message) {
  throw std::invalid_argument(describe(c) + ": " + message);
}

// The tokenizer must keep every marker whole, or the template silently becomes other text.
void check_tokenizer(const Tokenizer& tokenizer, const ChatTemplate& chat) {
  for (const auto& token : chat.special_tokens()) {
    if (tokenizer.encode(token).size() != 1) {
      throw std::invalid_argument("chat template '" + chat.name + "': tokenizer '" + tokenizer.model_file() +
                                  "' does not keep '" + token +
                                  "' as one token (load it with the template's special_tokens())");
    }
  }
}

// A user turn's text with each <image> placeholder replaced by the next image's run.
void lay_out_user_text(const Conversation& c, const ChatTemplate& chat, const std::string& value,
                       const std::vector<int64_t>& tokens_per_image, size_t& next_image, Layout& layout) {
  size_t start = 0;
  while (true) {
    const size_t at = value.find(kImagePlaceholder, start);
    const std::string text = value.substr(start, at == std::string::npos ? std::string::npos : at - start);
    for (const auto* token : {&chat.image_start, &chat.image_context, &chat.image_end}) {
      // Stray image tokens in the text would make image runs the images cannot fill.
      if (!token->empty() && text.find(*token) != std::string::npos) {
        fail(c, "user text contains the image token '" + *token + "' outside an " + kImagePlaceholder +
                    " placeholder");
      }
    }
    layout.text(text, false);
    if (at == std::string::npos) break;
    layout.image(tokens_per_image.at(next_image++));
    start = at + kImagePlaceholder.size();
  }
}

// The whole conversation (for_prompt: up to the last assistant header) as parts.
Layout lay_out(const Conversation& c, const ChatTemplate& chat, const std::vector<int64_t>& tokens_per_image,
               bool for_prompt) {
  const auto problem = conversation_problem(c, /*require_answer=*/!for_prompt);
  if (!problem.empty()) fail(c, problem);
  if (tokens_per_image.size() != c.images.size()) {
    fail(c, std::to_string(tokens_per_image.size()) + " image token counts given for " +
                std::to_string(c.images.size()) + " image(s)");
  }
  for (const auto n : tokens_per_image) {
    if (n <= 0) fail(c, "tokens per image must be positive, got " + std::to_string(n));
  }

  size_t first = 0;
  std::string system = chat.default_system;
  if (role_of(c.turns[0].from) == Role::System) {
    system = c.turns[0].value;
    first = 1;
    if (!system.empty() && chat.system_start.empty()) {
      fail(c, "chat template '" + chat.name + "' has no system prompt, but the conversation starts with one");
    }
  }
  size_t last = c.turns.size();
  if (for_prompt && role_of(c.turns.back().from) == Role::Gpt) --last;  // the reference answer
  if (for_prompt && last <= first) fail(c, "no human turn to answer");

  Layout layout;
  layout.text(chat.bos, false);
  if (!system.empty() && !chat.system_start.empty()) {
    layout.text(chat.system_start + system + chat.system_end + chat.separator, false);
  }
  size_t next_image = 0;
  for (size_t i = first; i < last; ++i) {
    const auto& turn = c.turns[i];
    if (role_of(turn.from) == Role::Human) {
      if (i > first) layout.text(chat.separator, false);
      layout.text(chat.user_start, false);
      lay_out_user_text(c, chat, turn.value, tokens_per_image, next_image, layout);
      layout.text(chat.user_end + chat.separator + chat.assistant_start, false);
    } else {
      layout.text(turn.value + chat.assistant_end, true);
    }
  }
  if (!for_prompt) layout.text(chat.separator + chat.eos, true);
  return layout;
}

struct ImageSpan {
  int64_t begin, end;  // token positions [begin, end), markers included
};

// Tokenizes one stretch of text (between image runs) as a whole, as the tokenizer would the
// entire conversation: cut at special tokens, plain stretches encoded by SentencePiece. Labels
// follow the parts: `starts` holds (byte offset, supervised) where each part begins. A part
// boundary inside a plain stretch (the assistant header's "\n" running into the answer) is put
// after the tokens the text before it encodes to on its own, so that the prompt encode_prompt()
// gives is exactly this sample's prefix; a token that straddles the boundary goes with the part
// it ends in.
void encode_text(const std::string& text, const std::vector<std::pair<size_t, bool>>& starts,
                 const Tokenizer& tokenizer, const std::function<void(int64_t, bool)>& push) {
  auto supervised_at = [&](size_t offset) {
    auto it = std::upper_bound(starts.begin(), starts.end(), std::make_pair(offset, true));
    return std::prev(it)->second;
  };
  for (const auto& piece : tokenizer.split(text)) {
    if (piece.special_id >= 0) {
      push(piece.special_id, supervised_at(piece.begin));
      continue;
    }
    const auto ids = tokenizer.encode(text.substr(piece.begin, piece.end - piece.begin));
    size_t labelled = 0, from = piece.begin;
    for (const auto& [offset, supervised] : starts) {
      if (offset <= piece.begin || offset >= piece.end) continue;
      const auto head = tokenizer.encode(text.substr(piece.begin, offset - piece.begin));
      size_t common = 0;
      while (common < head.size() && common < ids.size() && head[common] == ids[common]) ++common;
      for (; labelled < common; ++labelled) push(ids[labelled], supervised_at(from));
      from = offset;
    }
    for (; labelled < ids.size(); ++labelled) push(ids[labelled], supervised_at(from));
  }
}

EncodedSample encode_layout(const Layout& layout, const Tokenizer& tokenizer, const ChatTemplate& chat,
                            bool with_labels, std::vector<ImageSpan>& spans) {
  EncodedSample out;
  const std::function<void(int64_t, bool)> push = [&](int64_t id, bool supervised) {
    out.input_ids.push_back(id);
    if (with_labels) out.labels.push_back(supervised ? id : kIgnoredLabel);
  };
  const int64_t context_id = tokenizer.token_id(chat.image_context);
  const auto& parts = layout.parts();
  for (size_t i = 0; i < parts.size();) {
    if (parts[i].is_image) {
      const auto begin = static_cast<int64_t>(out.input_ids.size());
      if (!chat.image_start.empty()) push(tokenizer.token_id(chat.image_start), false);
      for (int64_t k = 0; k < parts[i].image_tokens; ++k) push(context_id, false);
      if (!chat.image_end.empty()) push(tokenizer.token_id(chat.image_end), false);
      spans.push_back({begin, static_cast<int64_t>(out.input_ids.size())});
      ++i;
      continue;
    }
    std::string text;
    std::vector<std::pair<size_t, bool>> starts;
    for (; i < parts.size() && !parts[i].is_image; ++i) {
      starts.emplace_back(text.size(), parts[i].supervised);
      text += parts[i].text;
    }
    encode_text(text, starts, tokenizer, push);
  }
  out.num_images = static_cast<int64_t>(spans.size());
  return out;
}

}  // namespace

std::vector<std::string> ChatTemplate::special_tokens() const {
  std::vector<std::string> tokens;
  auto add = [&](const std::string& token) {
    if (!token.empty() && std::find(tokens.begin(), tokens.end(), token) == tokens.end()) tokens.push_back(token);
  };
  for (const auto& marker : markers) add(marker);
  add(image_start);
  add(image_context);
  add(image_end);
  return tokens;
}

std::vector<std::string> chat_template_names() { return {"phi3", "internlm2", "tiny"}; }

ChatTemplate chat_template(const std::string& name) {
  if (name == "phi3") return phi3_template();
  if (name == "internlm2") return internlm2_template();
  if (name == "tiny") return tiny_template();
  std::string known;
  for (const auto& n : chat_template_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown chat template '" + name + "' (known: " + known + ")");
}

std::optional<EncodedSample> encode_conversation(const Conversation& conversation, const Tokenizer& tokenizer,
                                                 const ChatTemplate& chat, int64_t tokens_per_image,
                                                 int64_t max_length, Truncation truncation) {
  return encode_conversation(conversation, tokenizer, chat,
                             std::vector<int64_t>(conversation.images.size(), tokens_per_image), max_length,
                             truncation);
}

std::optional<EncodedSample> encode_conversation(const Conversation& conversation, const Tokenizer& tokenizer,
                                                 const ChatTemplate& chat,
                                                 const std::vector<int64_t>& tokens_per_image, int64_t max_length,
                                                 Truncation truncation) {
  if (max_length <= 0) fail(conversation, "max_length must be positive, got " + std::to_string(max_length));
  check_tokenizer(tokenizer, chat);
  const auto layout = lay_out(conversation, chat, tokens_per_image, /*for_prompt=*/false);
  std::vector<ImageSpan> spans;
  auto sample = encode_layout(layout, tokenizer, chat, /*with_labels=*/true, spans);
  const auto length = static_cast<int64_t>(sample.input_ids.size());
  if (length <= max_length) return sample;

  // Cut at max_length unless that would split or lose an image run (its features could no
  // longer be placed) or leave nothing to learn from.
  std::string why;
  for (size_t i = 0; i < spans.size() && why.empty(); ++i) {
    if (spans[i].end <= max_length) continue;
    why = std::string(spans[i].begin < max_length ? "cut through" : "drop") + " image " + std::to_string(i) +
          " (tokens " + std::to_string(spans[i].begin) + ".." + std::to_string(spans[i].end - 1) + ")";
  }
  if (why.empty() && std::all_of(sample.labels.begin(), sample.labels.begin() + max_length,
                                 [](int64_t label) { return label == kIgnoredLabel; })) {
    why = "leave no answer token to learn from";
  }
  if (!why.empty()) {
    if (truncation == Truncation::Drop) return std::nullopt;
    fail(conversation, std::to_string(length) + " tokens exceed max_length " + std::to_string(max_length) +
                           ", and cutting there would " + why);
  }
  sample.input_ids.resize(max_length);
  sample.labels.resize(max_length);
  return sample;
}

EncodedSample encode_prompt(const Conversation& conversation, const Tokenizer& tokenizer, const ChatTemplate& chat,
                            int64_t tokens_per_image) {
  return encode_prompt(conversation, tokenizer, chat,
                       std::vector<int64_t>(conversation.images.size(), tokens_per_image));
}

EncodedSample encode_prompt(const Conversation& conversation, const Tokenizer& tokenizer, const ChatTemplate& chat,
                            const std::vector<int64_t>& tokens_per_image) {
  check_tokenizer(tokenizer, chat);
  const auto layout = lay_out(conversation, chat, tokens_per_image, /*for_prompt=*/true);
  std::vector<ImageSpan> spans;
  return encode_layout(layout, tokenizer, chat, /*with_labels=*/false, spans);
}

}  // namespace trol
