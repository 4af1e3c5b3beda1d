// The item reader of each benchmark (one file each) and what they share. Internal to
// eval/items/: callers use eval/items/benchmark_items.h. A new benchmark adds one reader here
// and one row in benchmark_items.cpp.
#pragma once

#include <filesystem>
#include <string>

#include "eval/benchmarks/multiple_choice.h"
#include "eval/benchmark_files.h"
#include "eval/items/benchmark_items.h"

namespace trol::items {

std::vector<BenchmarkItem> read_pope(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mme(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mmbench(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_scienceqa(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_chartqa(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_textvqa(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mathvista(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_ai2d(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_seedbench(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mmstar(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_mmmu(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_hallusionbench(const BenchmarkSource& source);
std::vector<BenchmarkItem> read_vqa(const BenchmarkSource& source);

// source.images when given, else `fallback`.
std::filesystem::path image_folder(const BenchmarkSource& source, const std::filesystem::path& fallback);

// The folder `data` is (a folder) or is in (a file).
std::filesystem::path data_folder(const std::string& data);

// The string field `key` of `object`, or "" after adding "<where>: missing string \"key\"" to `problems`.
std::string string_field(const nlohmann::json& object, const std::string& key, const std::string& where,
                         std::vector<std::string>& problems);

// The options as the authors list them: "A. text" per option (its own letter), joined by `separator`.
std::string option_list(const std::vector<bench::Choice>& choices, const std::string& separator);

// The item of a question read with keep_text: key and record question_id its id, images
// decoded from its image cell (problems named "<file>: <id>").
BenchmarkItem choice_item(bench::ChoiceQuestion& question, std::string prompt, const std::string& file,
                          std::vector<std::string>& problems);

// A question id for the record: a number when `id` is all digits (a TSV index), else the text
// (scorers read ids as text either way).
nlohmann::ordered_json id_value(const std::string& id);

// The images of a VLMEvalKit TSV cell: base64, or (MMMU's several images) a Python list of
// base64 strings. An empty cell gives one empty image (reported as missing when generated for);
// a cell that is not base64 adds "<where>: ..." to `problems`.
std::vector<ItemImage> tsv_images(const std::string& cell, const std::string& where, std::vector<std::string>& problems);

}  // namespace trol::items
