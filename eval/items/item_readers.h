// The item reader of each benchmark (one file each) and what they share. Internal to
// eval/items/: callers use eval/items/benchmark_items.h. A new benchmark adds one reader here
// and one row in benchmark_items.cpp.
#pragma once

#include <filesystem>
#include <string>

#include "eval/items/benchmark_items.h"

namespace trol::items {

std::vector<BenchmarkItem> read_pope(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mme(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mmbench(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_scienceqa(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_chartqa(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_textvqa(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mathvista(const BenchmarkSource& source);

// source.images when given, else `fallback`.
std::filesystem::path image_folder(const BenchmarkSource& source, const std::filesystem::path& fallback);

// The folder `data` is (a folder) or is in (a file).
std::filesystem::path data_folder(const std::string& data);

// The string field `key` of `object`, or "" after adding "<where>: missing string \"key\"" to `problems`.
std::string string_field(const nlohmann::json& object, const std::string& key, const std::string& where,
                         std::vector<std::string>& problems);

}  // namespace trol::items
