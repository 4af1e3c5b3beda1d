#include "trol/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace trol {
namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

// Puts a module in eval mode for a scope and restores the mode it had, so that generating
// in the middle of training (periodic evaluation) leaves dropout and friends as they were.
class EvalModeScope {
 public:
  explicit EvalModeScope(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeScope() { module_.train(was_training_); }
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

void check_prompts(const std::vector<std::vector<int64_t>>& prompts, int64_t vocab_size) {
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) throw std::invalid_argument("generate: prompt " + std::to_string(i) + " is empty");
    for (const int64_t id : prompts[i]) {
      if (id < 0 || id >= vocab_size) {
        throw std::invalid_argument("generate: prompt " + std::to_string(i) + " holds token id " +
                                    std::to_string(id) + ", outside the vocabulary [0, " +
                                    std::to_string(vocab_size) + ")");
      }
    }
  }
}

// A small host-built tensor on `device`: on a GPU through page-locked memory and an
// asynchronous copy, so that building the next step's inputs does not wait for the GPU.
torch::Tensor to_device_async(const torch::Tensor& host, torch::Device device) {
  if (!device.is_cuda()) return host.to(device);
  return host.pin_memory().to(device, /*non_blocking=*/true);
}

[[noreturn]] void refuse(const std::string& option, const std::string& why) {
  throw std::invalid_argument("generate: " + option + " " + why);
}

// The rows of a batch being decoded (one per prompt, or one per beam) and what the model has
// seen of them: the attention mask, the KV cache (or, without it, the whole sequence's
// embeddings), the Partial-LoRA mask, and which tokens each row holds (repetition penalty).
class Decoding {
 public:
  Decoding(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts, const torch::Tensor& pixel_values,
           const GenerateOptions& options)
      : model_(model), options_(options), device_(model->model->embed->weight.device()) {
    const auto& config = model->config();
    const int64_t batch = static_cast<int64_t>(prompts.size());
    size_t longest = 0;
    for (const auto& prompt : prompts) longest = std::max(longest, prompt.size());
    auto ids = torch::full({batch, static_cast<int64_t>(longest)}, options.pad_id, torch::kLong);
    auto mask = torch::zeros({batch, static_cast<int64_t>(longest)}, torch::kLong);
    for (int64_t b = 0; b < batch; ++b) {
      const auto length = static_cast<int64_t>(prompts[b].size());
      const int64_t start = static_cast<int64_t>(longest) - length;
      ids[b].narrow(0, start, length).copy_(torch::tensor(prompts[b], torch::kLong));
      mask[b].narrow(0, start, length).fill_(1);
    }
    if (options.repetition_penalty != 1.0) {
      seen_ = torch::zeros({batch, config.llm.vocab_size}, torch::kBool);
      auto seen = seen_.accessor<bool, 2>();
      for (int64_t b = 0; b < batch; ++b) {
        // The penalty is on logits; ids past them (the image token's extra embedding row) have none.
        for (const int64_t id : prompts[b]) {
          if (id < config.llm.vocab_size) seen[b][id] = true;
        }
      }
      seen_ = seen_.to(device_);
    }
    ids = ids.to(device_);
    mask_ = mask.to(device_);
    torch::Tensor pixels;
    const auto dtype = model->model->embed->weight.scalar_type();
    if (pixel_values.defined() && pixel_values.numel() > 0) pixels = pixel_values.to(device_, dtype);
    // The prompt (with its image features) is embedded once; new tokens append their rows.
    ModelInputs inputs{ids, mask_, pixels, {}};
    if (options.image_tower_output.defined()) inputs.image_tower_output = options.image_tower_output.to(device_, dtype);
    embeds_ = model->embed(inputs);
    // Partial LoRA applies at the prompt's image positions; generated tokens are text.
    adapter_mask_ = model->adapter_mask(ids);
    partial_lora_ = adapter_mask_.defined();
    if (options.use_cache) {
      const auto& llm = config.llm;
      cache_.emplace(llm.num_layers, model->model->cache_passes(options.decode), batch, llm.num_kv_heads,
                     llm.head_dim(), static_cast<int64_t>(longest) + options.max_new_tokens, embeds_.options());
    }
  }

  // The next-token logits of every row [rows, vocab], in float64 for a float64 model, else float32.
  torch::Tensor next_logits() {
    auto& decoder = model_->model;
    // Left padding puts every row's newest token in the last column.
    const auto hidden = (cache_ ? decoder->forward_cached(embeds_, mask_, *cache_, options_.decode,
                                                          /*collect_gate_ratios=*/false, adapter_mask_)
                                : decoder(embeds_, mask_, /*collect_gate_ratios=*/false, adapter_mask_))
                            .hidden.select(1, -1);
    if (cache_) {  // consumed: the cache holds them now
      embeds_ = torch::Tensor();
      adapter_mask_ = torch::Tensor();
    }
    const auto logits = model_->lm_logits(hidden);
    return logits.to(logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32);
  }

  // Keeps rows `rows` (indices into the current rows) in that order: beam search's move of
  // every beam's state to the beams continuing it.
  void reorder(const std::vector<int64_t>& rows) {
    const auto index = to_device_async(torch::tensor(rows, torch::kLong), device_);
    mask_ = mask_.index_select(0, index);
    if (embeds_.defined()) embeds_ = embeds_.index_select(0, index);
    if (adapter_mask_.defined()) adapter_mask_ = adapter_mask_.index_select(0, index);
    if (seen_.defined()) seen_ = seen_.index_select(0, index);
    if (cache_) cache_->reorder(index);
  }

  // One new token per row; `real` false appends a masked pad instead (a row that has ended,
  // or an empty beam): it changes no other row.
  void append(const std::vector<int64_t>& tokens, const std::vector<bool>& real) {
    const auto rows = static_cast<int64_t>(tokens.size());
    std::vector<int64_t> ids(tokens.size()), mask(tokens.size());
    for (size_t r = 0; r < tokens.size(); ++r) {
      ids[r] = real[r] ? tokens[r] : options_.pad_id;
      mask[r] = real[r] ? 1 : 0;
    }
    const auto new_ids = to_device_async(torch::tensor(ids, torch::kLong).view({rows, 1}), device_);
    const auto new_mask = to_device_async(torch::tensor(mask, torch::kLong).view({rows, 1}), device_);
    const auto new_embeds = model_->model->embed(new_ids);
    embeds_ = cache_ ? new_embeds : torch::cat({embeds_, new_embeds}, 1);
    if (partial_lora_) {
      const auto text = torch::zeros({rows, 1}, torch::TensorOptions().dtype(torch::kBool).device(device_));
      adapter_mask_ = cache_ ? text : torch::cat({adapter_mask_, text}, 1);
    }
    mask_ = torch::cat({mask_, new_mask}, 1);
    if (seen_.defined()) {
      // Real rows mark their token; a masked pad writes back the value its column had.
      const auto row_index = torch::arange(rows, torch::TensorOptions().dtype(torch::kLong).device(device_));
      seen_.index_put_({row_index, new_ids.view({rows})}, new_mask.view({rows}).to(torch::kBool) |
                                                              seen_.index({row_index, new_ids.view({rows})}));
    }
  }

  const torch::Tensor& seen() const { return seen_; }
  torch::Device device() const { return device_; }

 private:
  TrolModel& model_;
  const GenerateOptions& options_;
  torch::Device device_;
  torch::Tensor embeds_, mask_, adapter_mask_, seen_;
  bool partial_lora_ = false;
  std::optional<KvCache> cache_;
};

bool is_stop_id(const GenerateOptions& options, int64_t token) {
  return std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end();
}

bool hits_stop_string(const GenerateOptions& options, const std::vector<int64_t>& ids) {
  if (options.stop_strings.empty()) return false;
  const auto text = options.detokenize(ids);
  for (const auto& stop : options.stop_strings) {
    if (text.find(stop) != std::string::npos) return true;
  }
  return false;
}

// Greedy and sampled decoding: one row per prompt, each ends on its own.
std::vector<std::vector<GeneratedSequence>> decode_rows(Decoding& decoding, size_t batch,
                                                        const GenerateOptions& options) {
  const bool sample = options.strategy == SearchStrategy::sample;
  std::optional<at::Generator> generator;
  if (sample) generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  std::vector<GeneratedSequence> rows(batch);
  std::vector<bool> finished(batch, false);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    auto logits = decoding.next_logits();
    if (options.repetition_penalty != 1.0) {
      logits = apply_repetition_penalty(logits, decoding.seen(), options.repetition_penalty);
    }
    torch::Tensor next, log_probs;
    if (sample) {
      logits = filter_logits(logits, options.temperature, options.top_k, options.top_p);
      // Drawn on the CPU in float64 from the sampler's own generator: the same draws on any device.
      const auto probabilities = torch::softmax(logits, -1).to(torch::kCPU, torch::kFloat64);
      next = torch::multinomial(probabilities, 1, /*replacement=*/false, *generator).view({-1});
      log_probs = torch::log_softmax(logits, -1)
                      .gather(1, next.to(logits.device()).view({-1, 1}))
                      .view({-1})
                      .to(torch::kCPU, torch::kFloat64);
    } else {
      // The token and its log-probability come to the host together: one transfer per step.
      const auto argmax = logits.argmax(-1, /*keepdim=*/true);
      const auto both = torch::cat({argmax.to(torch::kFloat64),
                                    torch::log_softmax(logits, -1).gather(1, argmax).to(torch::kFloat64)},
                                   1)
                            .to(torch::kCPU);
      next = both.select(1, 0).to(torch::kLong);  // token ids are exact in float64
      log_probs = both.select(1, 1).contiguous();
    }
    const auto next_ids = next.accessor<int64_t, 1>();
    const auto next_log_probs = log_probs.accessor<double, 1>();

    std::vector<int64_t> appended(batch, options.pad_id);
    std::vector<bool> real(batch, false);
    bool all_finished = true;
    for (size_t b = 0; b < batch; ++b) {
      if (finished[b]) continue;
      auto& row = rows[b];
      const int64_t token = next_ids[static_cast<int64_t>(b)];
      row.score += next_log_probs[static_cast<int64_t>(b)];
      if (is_stop_id(options, token)) {
        row.finish = FinishReason::stop_id;
        finished[b] = true;
        continue;
      }
      row.ids.push_back(token);
      appended[b] = token;
      real[b] = true;
      if (hits_stop_string(options, row.ids)) {
        row.finish = FinishReason::stop_string;
        finished[b] = true;
      } else {
        finished[b] = static_cast<int64_t>(row.ids.size()) >= options.max_new_tokens;
      }
      all_finished = all_finished && finished[b];
    }
    if (all_finished) break;
    decoding.append(appended, real);
  }
  std::vector<std::vector<GeneratedSequence>> out;
  for (auto& row : rows) out.push_back({std::move(row)});
  return out;
}

// A prompt's finished beam-search hypotheses: the num_beams best, best first.
class Hypotheses {
 public:
  explicit Hypotheses(int64_t capacity) : capacity_(static_cast<size_t>(capacity)) {}
  void add(GeneratedSequence hypothesis) {
    const auto at = std::find_if(best_.begin(), best_.end(),
                                 [&](const GeneratedSequence& h) { return h.score < hypothesis.score; });
    best_.insert(at, std::move(hypothesis));
    if (best_.size() > capacity_) best_.pop_back();
  }
  bool full() const { return best_.size() >= capacity_; }
  double worst() const { return best_.back().score; }
  std::vector<GeneratedSequence> take(int64_t count) {
    if (best_.size() > static_cast<size_t>(count)) best_.resize(static_cast<size_t>(count));
    return std::move(best_);
  }

 private:
  size_t capacity_;
  std::vector<GeneratedSequence> best_;
};

// Beam search (SearchStrategy::beam, EarlyStopping), batched: prompt p's beams are rows
// [p * R, (p + 1) * R) of the decoding, with R = 1 for the first step (the prompt itself) and
// num_beams after. A beam slot with nothing to continue (fewer extensions than beams) is
// empty: score -inf, fed masked pads; it never ranks above a real extension.
std::vector<std::vector<GeneratedSequence>> beam_search(Decoding& decoding, size_t batch,
                                                        const GenerateOptions& options) {
  const int64_t beams = options.num_beams;
  const int64_t prompts = static_cast<int64_t>(batch);
  const int64_t kept = std::max<int64_t>(2, 1 + static_cast<int64_t>(options.stop_ids.size())) * beams;
  std::vector<Hypotheses> finished(batch, Hypotheses(beams));
  std::vector<bool> done(batch, false);
  std::vector<std::vector<int64_t>> beam_ids(batch);  // per row: its new tokens
  std::vector<double> beam_scores(batch, 0.0);         // per row: summed log-probabilities
  int64_t per_prompt = 1;
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    auto log_probs = torch::log_softmax(decoding.next_logits(), -1);
    if (options.repetition_penalty != 1.0) {
      // As Hugging Face's beam search: on the log-probabilities, not renormalised.
      log_probs = apply_repetition_penalty(log_probs, decoding.seen(), options.repetition_penalty);
    }
    const int64_t vocab = log_probs.size(1);
    const auto running = torch::tensor(beam_scores, log_probs.options());
    const auto totals = (log_probs + running.unsqueeze(1)).view({prompts, per_prompt * vocab});
    const auto top = totals.topk(std::min(kept, per_prompt * vocab), -1);
    const auto top_scores = std::get<0>(top).to(torch::kCPU, torch::kFloat64);
    const auto top_index = std::get<1>(top).to(torch::kCPU);
    const auto scores = top_scores.accessor<double, 2>();
    const auto index = top_index.accessor<int64_t, 2>();
    const int64_t length = step + 1;  // new tokens of every extension, its last included
    const bool at_limit = length == options.max_new_tokens;

    std::vector<int64_t> origins, tokens;
    std::vector<double> next_scores;
    std::vector<bool> real;
    for (int64_t p = 0; p < prompts; ++p) {
      int64_t continuing = 0;
      for (int64_t rank = 0; !done[p] && rank < top_scores.size(1) && continuing < beams; ++rank) {
        const double score = scores[p][rank];
        if (!std::isfinite(score)) break;  // sorted: only empty beams' extensions follow
        const int64_t origin = p * per_prompt + index[p][rank] / vocab;
        const int64_t token = index[p][rank] % vocab;
        GeneratedSequence extension{beam_ids[origin], score, FinishReason::length};
        bool ends = at_limit;
        if (is_stop_id(options, token)) {
          extension.finish = FinishReason::stop_id;
          ends = true;
        } else {
          extension.ids.push_back(token);
          if (hits_stop_string(options, extension.ids)) {
            extension.finish = FinishReason::stop_string;
            ends = true;
          }
        }
        if (ends) {
          // Only the first num_beams extensions may finish; one ranked below them that ends
          // is dropped (Hugging Face's rule: the extra ones only stand in for running beams).
          if (rank < beams) {
            extension.score = score / std::pow(static_cast<double>(length), options.length_penalty);
            finished[p].add(std::move(extension));
          }
          continue;
        }
        origins.push_back(origin);
        tokens.push_back(token);
        next_scores.push_back(score);
        real.push_back(true);
        ++continuing;
      }
      // The best running beam is the first continuing one (or none, -inf).
      const double best_running = continuing > 0 ? next_scores[next_scores.size() - continuing] : kMinusInfinity;
      for (; continuing < beams; ++continuing) {
        origins.push_back(p * per_prompt);
        tokens.push_back(options.pad_id);
        next_scores.push_back(kMinusInfinity);
        real.push_back(false);
      }
      if (!done[p] && finished[p].full()) {
        if (options.early_stopping == EarlyStopping::first) {
          done[p] = true;
        } else {
          const bool exact = options.early_stopping == EarlyStopping::never && options.length_penalty > 0;
          const double best_length = static_cast<double>(exact ? options.max_new_tokens : length);
          done[p] = best_running / std::pow(best_length, options.length_penalty) <= finished[p].worst();
        }
      }
    }
    if (at_limit || std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;

    decoding.reorder(origins);
    std::vector<std::vector<int64_t>> next_ids(origins.size());
    for (size_t r = 0; r < origins.size(); ++r) {
      next_ids[r] = beam_ids[origins[r]];
      if (real[r]) next_ids[r].push_back(tokens[r]);
    }
    beam_ids = std::move(next_ids);
    beam_scores = std::move(next_scores);
    decoding.append(tokens, real);
    per_prompt = beams;
  }
  std::vector<std::vector<GeneratedSequence>> out;
  for (auto& hypotheses : finished) out.push_back(hypotheses.take(options.num_return_sequences));
  return out;
}

}  // namespace

void validate(const GenerateOptions& o) {
  if (o.max_new_tokens < 0) refuse("max_new_tokens", "is " + std::to_string(o.max_new_tokens) + ", must be >= 0");
  if (!o.use_cache && o.decode == DecodeMode::released) {
    refuse("use_cache", "is false: released decoding is defined by its cache; use_cache must be true");
  }
  if (!(o.repetition_penalty > 0)) refuse("repetition_penalty", "must be > 0 (1: no penalty)");
  if (!o.stop_strings.empty() && !o.detokenize) {
    refuse("stop_strings", "need detokenize (the text of token ids) to be set");
  }
  for (const auto& stop : o.stop_strings) {
    if (stop.empty()) refuse("stop_strings", "holds an empty string (it would end every row at once)");
  }
  const bool beam = o.strategy == SearchStrategy::beam, sample = o.strategy == SearchStrategy::sample;
  if (o.num_beams < 1) refuse("num_beams", "must be >= 1");
  if (!beam && o.num_beams != 1) refuse("num_beams", "is " + std::to_string(o.num_beams) + ": set strategy beam");
  if (o.num_return_sequences < 1 || o.num_return_sequences > (beam ? o.num_beams : 1)) {
    refuse("num_return_sequences", "is " + std::to_string(o.num_return_sequences) + ", must be in [1, " +
                                       (beam ? "num_beams" : std::string("1: only beam search returns several")) +
                                       "]");
  }
  if (!beam && (o.length_penalty != 1.0 || o.early_stopping != EarlyStopping::heuristic)) {
    refuse("length_penalty/early_stopping", "apply to beam search only: set strategy beam");
  }
  if (!(o.temperature > 0)) refuse("temperature", "must be > 0 (for a greedy answer use strategy greedy)");
  if (o.top_k < 0) refuse("top_k", "must be >= 0 (0: no top-k filter)");
  if (!(o.top_p > 0 && o.top_p <= 1)) refuse("top_p", "must be in (0, 1] (1: no top-p filter)");
  if (!sample && (o.temperature != 1.0 || o.top_k != 0 || o.top_p != 1.0)) {
    refuse("temperature/top_k/top_p", "apply to sampling only: set strategy sample");
  }
}

torch::Tensor apply_repetition_penalty(const torch::Tensor& logits, const torch::Tensor& seen, double penalty) {
  const auto penalised = torch::where(logits < 0, logits * penalty, logits / penalty);
  return torch::where(seen, penalised, logits);
}

torch::Tensor filter_logits(const torch::Tensor& logits, double temperature, int64_t top_k, double top_p) {
  auto out = temperature == 1.0 ? logits.clone() : logits / temperature;
  const int64_t vocab = out.size(-1);
  if (top_k > 0 && top_k < vocab) {
    // Every token tying the k-th largest logit stays (as Hugging Face's TopKLogitsWarper).
    const auto kth = std::get<0>(out.topk(top_k, -1)).narrow(-1, top_k - 1, 1);
    out.masked_fill_(out < kth, -std::numeric_limits<double>::infinity());
  }
  if (top_p < 1.0) {
    const auto sorted = out.sort(-1, /*descending=*/true);
    const auto& sorted_logits = std::get<0>(sorted);
    const auto& order = std::get<1>(sorted);
    // Probability of the more probable tokens before each one: a token stays while that is
    // below p, so the kept set is the smallest reaching p, and the most probable always stays.
    const auto probabilities = torch::softmax(sorted_logits, -1);
    const auto before = probabilities.cumsum(-1) - probabilities;
    const auto remove_sorted = before >= top_p;
    const auto remove = torch::zeros_like(remove_sorted).scatter(-1, order, remove_sorted);
    out.masked_fill_(remove, -std::numeric_limits<double>::infinity());
  }
  return out;
}

std::string cut_at_stop_strings(const std::string& text, const std::vector<std::string>& stop_strings) {
  size_t cut = text.size();
  for (const auto& stop : stop_strings) {
    if (stop.empty()) continue;
    cut = std::min(cut, text.find(stop));
  }
  return text.substr(0, cut);
}

std::vector<std::vector<GeneratedSequence>> generate(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                     const torch::Tensor& pixel_values, const GenerateOptions& options) {
  const auto& config = model->config();
  validate(options);
  // Pads are looked up like any token, so a pad equal to the image token would be taken for
  // an image position and break the image merge.
  if (options.pad_id == config.resolved_image_token_id()) {
    throw std::invalid_argument("generate: pad_id " + std::to_string(options.pad_id) +
                                " is the image token id; choose another pad id");
  }
  check_prompts(prompts, config.llm.embedding_rows());
  if (prompts.empty()) return {};
  if (options.max_new_tokens == 0) {
    return std::vector<std::vector<GeneratedSequence>>(prompts.size(), std::vector<GeneratedSequence>(1));
  }

  EvalModeScope eval_mode(*model);
  torch::NoGradGuard no_grad;
  Decoding decoding(model, prompts, pixel_values, options);
  return options.strategy == SearchStrategy::beam ? beam_search(decoding, prompts.size(), options)
                                                  : decode_rows(decoding, prompts.size(), options);
}

std::vector<std::vector<int64_t>> generate_greedy(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                  const torch::Tensor& pixel_values, const GenerateOptions& options) {
  auto greedy = options;
  greedy.strategy = SearchStrategy::greedy;
  std::vector<std::vector<int64_t>> ids;
  for (auto& sequences : generate(model, prompts, pixel_values, greedy)) ids.push_back(std::move(sequences.front().ids));
  return ids;
}

}  // namespace trol
