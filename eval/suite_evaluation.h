// The one evaluation path, for the built-in dataset's splits and public benchmarks alike
// (evaluation_suites, eval/evaluator.h): generation over a benchmark's items (eval/items/),
// sharded across the ranks of a run, gathered on rank 0, written as the predictions file its
// scorer reads (eval/benchmarks/), scored, and written as metrics. `trol train`'s evaluation
// after training and `trol eval` differ only in which suites they list.
//
// eval.limit asks the first N items of each suite, and the scorer scores those N as the
// benchmark (ScoreRequest::questions): the rest are not counted as missing.
//
// Sharding: the items are cut into batches of eval.batch_size in file order, and rank r of W
// generates batches r, r + W, r + 2W, ... (strided, so every rank gets a share of each part
// of a file, whose items may differ in cost; whole batches, so every batch is the one a single
// process would generate, padding included, and the answers cannot depend on W). Each rank
// sends rank 0 its answers and image failures by item index (all_gather of one text per rank);
// rank 0 checks that every index arrives exactly once, then writes everything in item order.
//
// Written by rank 0 under `out`, per suite:
//   predictions/<name>.jsonl  one record per answered item, in item order: the item's record
//                             (question_id, and category / prompt where the scorer needs them)
//                             plus "text", the answer
//   metrics/<name>.json       the scorer's report (`trol score --out`'s JSON) plus "generation":
//                             items, answered, image_errors and the first failing items, ranks, seconds
// An item whose image is missing or corrupt is logged, counted, and gets no prediction: the
// scorer counts it missing (wrong), never drops it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/evaluator.h"

namespace trol {

// The ranks of a run as the evaluation sees them (eval/ does not depend on train/, where the
// process group lives: the caller passes its all_gather).
struct EvalRanks {
  int64_t rank = 0;
  int64_t world_size = 1;
  // Every rank's text, in rank order; null for one process.
  std::function<std::vector<std::string>(const std::string& text, const std::string& what)> all_gather;
};

struct SuiteResult {
  std::string name;
  std::string benchmark;
  nlohmann::ordered_json metrics;  // what metrics/<name>.json holds
};

// Evaluates evaluation_suites(data, options) (options' batch_size, limit, decode, num_beams,
// scoring; each suite's max_new_tokens). Every rank must call it; rank 0 returns the results,
// the others {}.
std::vector<SuiteResult> evaluate_suites(TrolModel& model, const DataConfig& data, const EvalOptions& options,
                                         const EvalRanks& ranks, const std::string& out);

// The mean TroL mixing ratio per layer and prompt position, [layer][position], over the first
// batch (eval.batch_size items of eval.limit) of `suite`, positions up to its shortest prompt:
// the paper's analysis of where traversal happens. Empty when the model does not traverse or
// no item of the batch has a usable image.
std::vector<std::vector<double>> mean_mixing_ratios(TrolModel& model, const DataConfig& data, const EvalOptions& options,
                                                    const EvalSuite& suite);

}  // namespace trol
