// Reading typed config structs from YAML, strictly.
//
// Every config struct in trol (model, data, trainer, ...) is read through a ConfigReader:
// it fills fields that are present, keeps the struct's defaults for absent ones, and turns
// every problem into a ConfigError that names the file, the line and the full key path
// ("configs/tiny.yaml:12: model.llm.hidden_size: expected an integer, got 'abc'").
// Keys that no field asked for are errors too, with a did-you-mean suggestion, because a
// mistyped key silently ignored is a training run silently misconfigured.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace trol {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The edit distance used for did-you-mean suggestions.
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word`, or "" if none is close enough to be a plausible typo.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

class ConfigReader {
 public:
  // `node` must be a map (or null/absent, meaning "all defaults"). `path` is the dotted key
  // path of this node ("model.llm"); `source` is the file name used in messages.
  ConfigReader(YAML::Node node, std::string path, std::string source);

  // Reads `key` into `out` when present; leaves `out` untouched otherwise.
  template <class T>
  void read(const std::string& key, T& out);

  // A reader for the nested map at `key` (absent = empty map).
  ConfigReader section(const std::string& key);

  // Readers for a list of maps at `key` (absent = empty list); paths read "key[i]".
  std::vector<ConfigReader> list(const std::string& key);

  // The keys present in this map, in file order (for maps whose keys are data, not fields).
  std::vector<std::string> keys() const;

  bool has(const std::string& key) const;

  // Fails on any key of this map that was never asked for. Call after all reads.
  void finish() const;

  // "file:line: key.path" for messages about a key (line omitted when unknown).
  std::string where(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  const std::string& path() const { return path_; }
  const std::string& source() const { return source_; }

 private:
  YAML::Node node_;
  std::string path_;
  std::string source_;
  std::set<std::string> asked_;
};

// Loads a YAML file, or throws ConfigError naming the file and the parser's line.
YAML::Node load_yaml_file(const std::string& file);

// Applies `a.b.c=value` command-line overrides to a YAML tree. The value is parsed as YAML
// (so `3`, `1e-4`, `true`, `[1,2]` keep their types). Missing intermediate maps are created;
// a misspelt key then fails in ConfigReader::finish like a misspelt key in the file.
void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides);

}  // namespace trol
