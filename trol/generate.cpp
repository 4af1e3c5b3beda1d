#include "trol/generate.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

namespace trol {
namespace {

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
    if (prompts[i].empty()) throw std::invalid_argument("generate_greedy: prompt " + std::to_string(i) + " is empty");
    for (const int64_t id : prompts[i]) {
      if (id < 0 || id >= vocab_size) {
        throw std::invalid_argument("generate_greedy: prompt " + std::to_string(i) + " holds token id " +
                                    std::to_string(id) + ", outside the vocabulary [0, " +
                                    std::to_string(vocab_size) + ")");
      }
    }
  }
}

}  // namespace

std::vector<std::vector<int64_t>> generate_greedy(TrolModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                  const torch::Tensor& pixel_values, const GenerateOptions& options) {
  const auto& config = model->config();
  if (options.max_new_tokens < 0) {
    throw std::invalid_argument("generate_greedy: max_new_tokens is " + std::to_string(options.max_new_tokens) +
                                ", must be >= 0");
  }
  // Pads are looked up like any token, so a pad equal to the image token would be taken for
  // an image position and break the image merge.
  if (options.pad_id == config.resolved_image_token_id()) {
    throw std::invalid_argument("generate_greedy: pad_id " + std::to_string(options.pad_id) +
                                " is the image token id; choose another pad id");
  }
  if (!options.use_cache && options.decode == DecodeMode::released) {
    throw std::invalid_argument("generate_greedy: released decoding is defined by its cache; use_cache must be true");
  }
  check_prompts(prompts, config.llm.vocab_size);
  const int64_t batch = static_cast<int64_t>(prompts.size());
  std::vector<std::vector<int64_t>> generated(prompts.size());
  if (batch == 0 || options.max_new_tokens == 0) return generated;

  EvalModeScope eval_mode(*model);
  torch::NoGradGuard no_grad;
  const auto& embedding = model->model->embed->weight;
  const auto device = embedding.device();

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
  ids = ids.to(device);
  mask = mask.to(device);
  torch::Tensor pixels;
  if (pixel_values.defined() && pixel_values.numel() > 0) pixels = pixel_values.to(device, embedding.scalar_type());

  // The prompt (with its image features) is embedded once; new tokens append their rows.
  auto embeds = model->embed(ModelInputs{ids, mask, pixels, {}});
  // Partial LoRA applies at the prompt's image positions; generated tokens are text.
  auto adapter_mask = model->adapter_mask(ids);
  std::optional<KvCache> cache;
  if (options.use_cache) {
    const auto& llm = config.llm;
    cache.emplace(llm.num_layers, model->model->cache_passes(options.decode), batch, llm.num_kv_heads, llm.head_dim(),
                  static_cast<int64_t>(longest) + options.max_new_tokens, embeds.options());
  }
  std::vector<bool> finished(prompts.size(), false);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    // Left padding puts every row's newest token in the last column.
    const auto last_hidden = (cache ? model->model->forward_cached(embeds, mask, *cache, options.decode,
                                                                   /*collect_gate_ratios=*/false, adapter_mask)
                                    : model->model(embeds, mask, /*collect_gate_ratios=*/false, adapter_mask))
                                 .hidden.select(1, -1);
    const auto next = model->lm_logits(last_hidden).argmax(-1).to(torch::kCPU);
    const auto next_ids = next.accessor<int64_t, 1>();

    std::vector<int64_t> appended(prompts.size(), options.pad_id);
    std::vector<int64_t> appended_mask(prompts.size(), 0);
    bool all_finished = true;
    for (int64_t b = 0; b < batch; ++b) {
      if (finished[b]) continue;
      const int64_t token = next_ids[b];
      const bool stop = std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end();
      if (stop) {
        finished[b] = true;
        continue;
      }
      generated[b].push_back(token);
      appended[b] = token;
      appended_mask[b] = 1;
      finished[b] = static_cast<int64_t>(generated[b].size()) >= options.max_new_tokens;
      all_finished = all_finished && finished[b];
    }
    if (all_finished) break;
    // Finished rows get a masked pad (right padding from here on): it changes no other row.
    const auto new_ids = torch::tensor(appended, torch::kLong).view({batch, 1}).to(device);
    const auto new_embeds = model->model->embed(new_ids);
    embeds = cache ? new_embeds : torch::cat({embeds, new_embeds}, 1);
    if (adapter_mask.defined()) {
      const auto text = torch::zeros({batch, 1}, adapter_mask.options());
      adapter_mask = cache ? text : torch::cat({adapter_mask, text}, 1);
    }
    mask = torch::cat({mask, torch::tensor(appended_mask, torch::kLong).view({batch, 1}).to(device)}, 1);
  }
  return generated;
}

}  // namespace trol
