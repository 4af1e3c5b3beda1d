#include "trol/config_reader.h"

#include <algorithm>
#include <sstream>

namespace trol {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

namespace {

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string line_of(const YAML::Node& node) {
  const auto mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return "";
  return std::to_string(mark.line + 1);
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "a boolean (true/false)";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else return "a list";
}

}  // namespace

ConfigReader::ConfigReader(YAML::Node node, std::string path, std::string source)
    : node_(std::move(node)), path_(std::move(path)), source_(std::move(source)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    std::ostringstream msg;
    msg << source_;
    const auto line = line_of(node_);
    if (!line.empty()) msg << ":" << line;
    msg << ": " << (path_.empty() ? "<top level>" : path_) << ": expected a map of settings";
    throw ConfigError(msg.str());
  }
}

bool ConfigReader::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

std::string ConfigReader::where(const std::string& key) const {
  std::ostringstream msg;
  msg << source_;
  if (node_.IsMap() && node_[key].IsDefined()) {
    const auto line = line_of(node_[key]);
    if (!line.empty()) msg << ":" << line;
  }
  msg << ": " << join_path(path_, key);
  return msg.str();
}

void ConfigReader::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(where(key) + ": " + message);
}

template <class T>
void ConfigReader::read(const std::string& key, T& out) {
  asked_.insert(key);
  if (!has(key)) return;
  const YAML::Node value = node_[key];
  try {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!value.IsScalar()) throw YAML::Exception(value.Mark(), "not a scalar");
    }
    out = value.as<T>();
  } catch (const YAML::Exception&) {
    std::string got = value.IsScalar() ? "'" + value.Scalar() + "'" : (value.IsMap() ? "a map" : "a list");
    fail(key, std::string("expected ") + type_name<T>() + ", got " + got);
  }
}

template void ConfigReader::read<bool>(const std::string&, bool&);
template void ConfigReader::read<int>(const std::string&, int&);
template void ConfigReader::read<int64_t>(const std::string&, int64_t&);
template void ConfigReader::read<double>(const std::string&, double&);
template void ConfigReader::read<std::string>(const std::string&, std::string&);
template void ConfigReader::read<std::vector<int64_t>>(const std::string&, std::vector<int64_t>&);
template void ConfigReader::read<std::vector<double>>(const std::string&, std::vector<double>&);
template void ConfigReader::read<std::vector<std::string>>(const std::string&, std::vector<std::string>&);

ConfigReader ConfigReader::section(const std::string& key) {
  asked_.insert(key);
  YAML::Node child = node_.IsMap() ? node_[key] : YAML::Node();
  return ConfigReader(child, join_path(path_, key), source_);
}

std::vector<ConfigReader> ConfigReader::list(const std::string& key) {
  asked_.insert(key);
  std::vector<ConfigReader> out;
  if (!has(key)) return out;
  const YAML::Node items = node_[key];
  if (!items.IsSequence()) fail(key, "expected a list");
  for (size_t i = 0; i < items.size(); ++i) {
    out.emplace_back(items[i], join_path(path_, key) + "[" + std::to_string(i) + "]", source_);
  }
  return out;
}

std::vector<std::string> ConfigReader::keys() const {
  std::vector<std::string> out;
  if (!node_.IsMap()) return out;
  for (const auto& entry : node_) out.push_back(entry.first.as<std::string>());
  return out;
}

void ConfigReader::finish() const {
  if (!node_.IsMap()) return;
  const std::vector<std::string> known(asked_.begin(), asked_.end());
  for (const auto& entry : node_) {
    const auto key = entry.first.as<std::string>();
    if (asked_.count(key)) continue;
    std::string message = "unknown key";
    const auto suggestion = closest_match(key, known);
    if (!suggestion.empty()) message += " (did you mean '" + join_path(path_, suggestion) + "'?)";
    std::ostringstream msg;
    msg << source_;
    const auto line = line_of(entry.first);
    if (!line.empty()) msg << ":" << line;
    msg << ": " << join_path(path_, key) << ": " << message;
    throw ConfigError(msg.str());
  }
}

YAML::Node load_yaml_file(const std::string& file) {
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw ConfigError(file + ": cannot open config file");
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
}

void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides) {
  for (const auto& override_text : overrides) {
    const auto eq = override_text.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("override '" + override_text + "': expected key.path=value");
    }
    const std::string key_path = override_text.substr(0, eq);
    YAML::Node value;
    try {
      value = YAML::Load(override_text.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      throw ConfigError("override '" + override_text + "': cannot parse value: " + e.msg);
    }
    if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    // yaml-cpp nodes are handles: walking with `node = node[key]` would rebind, not descend,
    // so the path is kept as a stack of handles.
    std::vector<YAML::Node> stack{root};
    std::stringstream parts(key_path);
    std::string part;
    std::vector<std::string> keys;
    while (std::getline(parts, part, '.')) {
      if (part.empty()) throw ConfigError("override '" + override_text + "': empty key in path");
      keys.push_back(part);
    }
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
      YAML::Node parent = stack.back();
      if (parent[keys[i]].IsDefined() && !parent[keys[i]].IsNull() && !parent[keys[i]].IsMap()) {
        throw ConfigError("override '" + override_text + "': '" + keys[i] + "' is not a section");
      }
      if (!parent[keys[i]].IsDefined() || parent[keys[i]].IsNull()) {
        parent[keys[i]] = YAML::Node(YAML::NodeType::Map);
      }
      stack.push_back(parent[keys[i]]);
    }
    stack.back()[keys.back()] = value;
  }
}

}  // namespace trol
