#include "trol/hf_added_tokens.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace trol {

std::map<std::string, int64_t> read_hf_added_tokens(const std::string& dir) {
  namespace fs = std::filesystem;
  std::map<std::string, int64_t> tokens;
  std::map<std::string, std::string> source;  // token -> the file that gave its id
  auto add = [&](const std::string& token, int64_t id, const std::string& file) {
    const auto [it, inserted] = tokens.emplace(token, id);
    if (!inserted && it->second != id) {
      throw std::runtime_error(file + ": added token '" + token + "' has id " + std::to_string(id) + ", " +
                               source[token] + " gives " + std::to_string(it->second));
    }
    source.emplace(token, file);
  };
  auto read = [](const fs::path& path) -> nlohmann::json {
    std::ifstream in(path);
    if (!in) return nullptr;
    try {
      return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(path.string() + ": not valid JSON: " + e.what());
    }
  };
  const auto config_path = fs::path(dir) / "tokenizer_config.json";
  const auto config = read(config_path);
  if (config.is_object() && config.contains("added_tokens_decoder") && config["added_tokens_decoder"].is_object()) {
    for (const auto& [id, entry] : config["added_tokens_decoder"].items()) {
      if (!entry.is_object() || !entry.contains("content") || !entry["content"].is_string()) {
        throw std::runtime_error(config_path.string() + ": added_tokens_decoder['" + id + "'] has no content");
      }
      try {
        add(entry["content"].get<std::string>(), std::stoll(id), config_path.string());
      } catch (const std::logic_error&) {
        throw std::runtime_error(config_path.string() + ": added_tokens_decoder key '" + id + "' is not an id");
      }
    }
  }
  const auto added_path = fs::path(dir) / "added_tokens.json";
  const auto added = read(added_path);
  if (added.is_object()) {
    for (const auto& [token, id] : added.items()) {
      if (!id.is_number_integer()) throw std::runtime_error(added_path.string() + ": '" + token + "' has no integer id");
      add(token, id.get<int64_t>(), added_path.string());
    }
  }
  const auto fast_path = fs::path(dir) / "tokenizer.json";
  const auto fast = read(fast_path);
  if (fast.is_object() && fast.contains("added_tokens") && fast["added_tokens"].is_array()) {
    for (const auto& entry : fast["added_tokens"]) {
      if (!entry.is_object() || !entry.contains("id") || !entry.contains("content")) {
        throw std::runtime_error(fast_path.string() + ": an added_tokens entry lacks id or content");
      }
      add(entry["content"].get<std::string>(), entry["id"].get<int64_t>(), fast_path.string());
    }
  }
  return tokens;
}

std::optional<int64_t> added_token_id(const std::string& dir, const std::string& token) {
  const auto tokens = read_hf_added_tokens(dir);
  const auto it = tokens.find(token);
  if (it == tokens.end()) return std::nullopt;
  return it->second;
}

}  // namespace trol
