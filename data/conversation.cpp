#include "data/conversation.h"

namespace trol {

std::optional<Role> role_of(const std::string& from) {
  if (from == "human" || from == "user") return Role::Human;
  if (from == "gpt" || from == "assistant") return Role::Gpt;
  if (from == "system") return Role::System;
  return std::nullopt;
}

int64_t count_occurrences(const std::string& text, const std::string& needle) {
  if (needle.empty()) return 0;
  int64_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

std::string conversation_problem(const Conversation& conversation, bool require_answer) {
  const auto& turns = conversation.turns;
  if (turns.empty()) return "no turns";
  int64_t placeholders = 0;
  bool answered = false;
  Role expected = Role::Human;
  for (size_t i = 0; i < turns.size(); ++i) {
    const std::string where = "conversations[" + std::to_string(i) + "]";
    const auto role = role_of(turns[i].from);
    if (!role) return where + ": unknown role '" + turns[i].from + "' (expected human, gpt or system)";
    const int64_t here = count_occurrences(turns[i].value, kImagePlaceholder);
    if (*role == Role::System) {
      if (i != 0) return where + ": a system turn may only come first";
      if (here) return where + ": " + kImagePlaceholder + " placeholder in the system turn";
      continue;
    }
    if (*role != expected) {
      return where + ": expected a " + (expected == Role::Human ? "human" : "gpt") + " turn, got '" +
             turns[i].from + "' (human and gpt turns must alternate, starting with human)";
    }
    if (*role == Role::Gpt) {
      if (here) return where + ": " + kImagePlaceholder + " placeholder in a gpt answer";
      answered = answered || !turns[i].value.empty();
    }
    placeholders += here;
    expected = expected == Role::Human ? Role::Gpt : Role::Human;
  }
  for (size_t i = 0; i < conversation.images.size(); ++i) {
    if (conversation.images[i].empty()) return "image " + std::to_string(i) + ": empty path";
  }
  if (placeholders != static_cast<int64_t>(conversation.images.size())) {
    return std::to_string(placeholders) + " " + kImagePlaceholder + " placeholder(s) for " +
           std::to_string(conversation.images.size()) + " image(s)";
  }
  if (require_answer) {
    if (!answered) return "conversation without an answer (no gpt turn with text)";
    if (role_of(turns.back().from) != Role::Gpt) {
      return "conversations[" + std::to_string(turns.size() - 1) + "]: the last human turn has no answer";
    }
  }
  return "";
}

std::string describe(const Conversation& conversation) {
  std::string text = conversation.id.empty() ? "conversation without id" : "conversation '" + conversation.id + "'";
  std::string where = conversation.source_file;
  if (!where.empty() && conversation.source_line > 0) where += ":" + std::to_string(conversation.source_line);
  if (conversation.source_index >= 0) {
    where += (where.empty() ? "" : ", ") + std::string("record [") + std::to_string(conversation.source_index) + "]";
  }
  return where.empty() ? text : text + " (" + where + ")";
}

}  // namespace trol
