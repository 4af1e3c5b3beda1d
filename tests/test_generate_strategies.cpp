// Beam search, sampling, repetition penalty and stop strings, each against a computation of
// its definition that shares no code with trol/generate.cpp: full decoder forwards on whole
// sequences (no cache, no batching, no reordering), exhaustive enumeration, hand-worked numbers.
#include "tests/catch.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "eval/evaluator.h"
#include "test_helpers.h"
#include "tokenizer_fixture.h"
#include "train/run_config.h"
#include "trol/config_reader.h"
#include "trol/generate.h"

namespace test_generate_strategies {

using namespace trol;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TrolModel random_model(const std::string& family, uint64_t seed, int64_t vocab = 37) {
  auto config = test::tiny_config(family);
  config.llm.vocab_size = vocab;
  TrolModel model(config);
  model->to(torch::kFloat64);
  test::randomize_parameters(*model, seed);
  model->eval();
  return model;
}

std::vector<int64_t> random_prompt(int64_t length, int64_t low, int64_t high, uint64_t seed) {
  torch::manual_seed(seed);
  const auto ids = torch::randint(low, high, {length}, torch::kLong);
  return {ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + length};
}

// Next-token logits [n, vocab] after each of n equally long text sequences: one full decoder
// forward on the whole sequence (every id embedded as text, as generation embeds new tokens).
torch::Tensor next_logits(TrolModel& model, const std::vector<std::vector<int64_t>>& sequences) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(sequences.size()), length = static_cast<int64_t>(sequences[0].size());
  auto ids = torch::empty({n, length}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) ids[i].copy_(torch::tensor(sequences[i], torch::kLong));
  const auto hidden = model->model(model->model->embed(ids), torch::ones_like(ids)).hidden.select(1, -1);
  return model->lm_logits(hidden);
}

torch::Tensor next_log_probs(TrolModel& model, const std::vector<std::vector<int64_t>>& sequences) {
  return torch::log_softmax(next_logits(model, sequences), -1);
}

// The same under the released rule (DESIGN.md §1), one sequence at a time: the prompt traversed,
// then each new token one pass, through a fresh cache (the rule itself is checked against a
// layer-by-layer computation in test_kv_cache.cpp). Every sequence starts with `prompt`.
torch::Tensor released_next_log_probs(TrolModel& model, const std::vector<int64_t>& prompt,
                                      const std::vector<std::vector<int64_t>>& sequences) {
  torch::NoGradGuard no_grad;
  const auto& llm = model->config().llm;
  std::vector<torch::Tensor> rows;
  for (const auto& sequence : sequences) {
    const auto ids = torch::tensor(sequence, torch::kLong).unsqueeze(0);
    const auto length = static_cast<int64_t>(sequence.size()), p = static_cast<int64_t>(prompt.size());
    KvCache cache(llm.num_layers, 1, 1, llm.num_kv_heads, llm.head_dim(), length, torch::kFloat64);
    const auto embeds = model->model->embed(ids);
    const auto mask = torch::ones_like(ids);
    auto hidden = model->model->forward_cached(embeds.narrow(1, 0, p), mask.narrow(1, 0, p), cache, DecodeMode::released).hidden;
    for (int64_t t = p; t < length; ++t) {
      hidden = model->model->forward_cached(embeds.narrow(1, t, 1), mask.narrow(1, 0, t + 1), cache, DecodeMode::released).hidden;
    }
    rows.push_back(torch::log_softmax(model->lm_logits(hidden.select(1, -1)), -1));
  }
  return torch::cat(rows);
}

std::vector<int64_t> concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Scored {
  std::vector<int64_t> ids;
  double score;
};

// Every sequence of at most `steps` new tokens that beam search could return (ended by the stop
// id, which is not part of ids, or by the length), scored sum log-prob / length^penalty; best first.
std::vector<Scored> enumerate_all(TrolModel& model, const std::vector<int64_t>& prompt, int64_t steps,
                                  int64_t stop_id, double length_penalty) {
  std::vector<Scored> frontier{{{}, 0.0}}, out;
  for (int64_t step = 1; step <= steps; ++step) {
    std::vector<std::vector<int64_t>> sequences;
    for (const auto& f : frontier) sequences.push_back(concat(prompt, f.ids));
    const auto log_probs = next_log_probs(model, sequences);
    std::vector<Scored> next;
    for (size_t i = 0; i < frontier.size(); ++i) {
      for (int64_t t = 0; t < log_probs.size(1); ++t) {
        const double sum = frontier[i].score + log_probs[i][t].item<double>();
        const double normalised = sum / std::pow(static_cast<double>(step), length_penalty);
        if (t == stop_id) {
          out.push_back({frontier[i].ids, normalised});
        } else if (step == steps) {
          out.push_back({concat(frontier[i].ids, {t}), normalised});
        } else {
          next.push_back({concat(frontier[i].ids, {t}), sum});
        }
      }
    }
    frontier = std::move(next);
  }
  std::sort(out.begin(), out.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
  return out;
}

// Hugging Face's beam search for one prompt, written as its description reads (see
// SearchStrategy::beam): full forwards (exact decoding; released: a fresh cache per sequence),
// no batch, no reordering. Also returns whether it stopped
// before max_new_tokens.
struct ReferenceBeams {
  std::vector<Scored> best;
  bool stopped_early = false;
};
ReferenceBeams reference_beam_search(TrolModel& model, const std::vector<int64_t>& prompt, const GenerateOptions& o) {
  const auto beams = static_cast<size_t>(o.num_beams);
  std::vector<Scored> running{{{}, 0.0}}, finished;
  ReferenceBeams result;
  for (int64_t step = 1; step <= o.max_new_tokens; ++step) {
    std::vector<std::vector<int64_t>> sequences;
    for (const auto& r : running) sequences.push_back(concat(prompt, r.ids));
    auto scores = o.decode == DecodeMode::exact ? next_log_probs(model, sequences)
                                                : released_next_log_probs(model, prompt, sequences);
    if (o.repetition_penalty != 1.0) {
      for (size_t i = 0; i < running.size(); ++i) {
        for (const int64_t t : std::set<int64_t>(sequences[i].begin(), sequences[i].end())) {
          const double s = scores[i][t].item<double>();
          scores[i][t] = s < 0 ? s * o.repetition_penalty : s / o.repetition_penalty;
        }
      }
    }
    struct Candidate {
      double sum;
      size_t beam;
      int64_t token;
    };
    std::vector<Candidate> candidates;
    for (size_t i = 0; i < running.size(); ++i) {
      for (int64_t t = 0; t < scores.size(1); ++t) candidates.push_back({running[i].score + scores[i][t].item<double>(), i, t});
    }
    std::stable_sort(candidates.begin(), candidates.end(), [](auto& a, auto& b) { return a.sum > b.sum; });
    candidates.resize(std::min(candidates.size(), std::max<size_t>(2, 1 + o.stop_ids.size()) * beams));
    std::vector<Scored> next;
    for (size_t rank = 0; rank < candidates.size() && next.size() < beams; ++rank) {
      const auto& c = candidates[rank];
      const bool stop = std::count(o.stop_ids.begin(), o.stop_ids.end(), c.token) > 0;
      auto ids = running[c.beam].ids;
      if (!stop) ids.push_back(c.token);
      if (stop || step == o.max_new_tokens) {
        if (rank < beams) finished.push_back({ids, c.sum / std::pow(static_cast<double>(step), o.length_penalty)});
      } else {
        next.push_back({ids, c.sum});
      }
    }
    std::stable_sort(finished.begin(), finished.end(), [](auto& a, auto& b) { return a.score > b.score; });
    if (finished.size() > beams) finished.resize(beams);
    running = std::move(next);
    if (step < o.max_new_tokens && finished.size() == beams) {
      const double best = running.empty() ? -kInf : running[0].score;
      // "never" bounds a running beam by the longest it may grow (with a length penalty > 0).
      const auto bound = o.early_stopping == EarlyStopping::never && o.length_penalty > 0 ? o.max_new_tokens : step;
      const bool done = o.early_stopping == EarlyStopping::first ||
                        best / std::pow(static_cast<double>(bound), o.length_penalty) <= finished.back().score;
      if (done) {
        result.stopped_early = true;
        break;
      }
    }
  }
  result.best = finished;
  return result;
}

GenerateOptions beam_options(int64_t beams, int64_t max_new_tokens) {
  GenerateOptions o;
  o.strategy = SearchStrategy::beam;
  o.num_beams = beams;
  o.max_new_tokens = max_new_tokens;
  return o;
}

void check_same_sequences(const std::vector<GeneratedSequence>& actual, const std::vector<Scored>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("hypothesis " << i);
    CHECK(actual[i].ids == expected[i].ids);
    CHECK(actual[i].score == Approx(expected[i].score).epsilon(1e-9));
  }
}

void check_same_sequences(const std::vector<GeneratedSequence>& actual, const std::vector<GeneratedSequence>& expected) {
  std::vector<Scored> scored;
  for (const auto& e : expected) scored.push_back({e.ids, e.score});
  check_same_sequences(actual, scored);
}

std::string angle_text(const std::vector<int64_t>& ids) {
  std::string text;
  for (const auto id : ids) text += "<" + std::to_string(id) + ">";
  return text;
}

}  // namespace

TEST_CASE("beam search with enough beams finds the best sequences of an exhaustive enumeration", "[generate][beam]") {
  // 12 tokens, 3 new ones: 12 + 144 + 1728 sequences. 144 beams keep every prefix, so the search
  // is exhaustive; the stop id is the likeliest first token, so short and long answers compete
  // and the length penalty decides.
  auto model = random_model("phi3", 41, 12);
  const auto prompt = random_prompt(5, 0, 11, 42);
  const int64_t stop_id = next_log_probs(model, {prompt})[0].argmax().item<int64_t>();
  std::map<double, size_t> best_length;
  for (const double penalty : {0.0, 1.0, 3.0}) {
    INFO("length penalty " << penalty);
    auto options = beam_options(144, 3);
    options.stop_ids = {stop_id};
    options.length_penalty = penalty;
    options.num_return_sequences = 4;
    const auto expected = enumerate_all(model, prompt, 3, stop_id, penalty);
    const auto found = generate(model, {prompt}, {}, options)[0];
    check_same_sequences(found, std::vector<Scored>(expected.begin(), expected.begin() + 4));
    CHECK(found[0].finish == (found[0].ids.size() < 3 ? FinishReason::stop_id : FinishReason::length));
    best_length[penalty] = found[0].ids.size();
  }
  // The penalty matters here: without it the stop comes first, with a strong one the long answers win.
  CHECK(best_length[0.0] < best_length[3.0]);
}

TEST_CASE("beam search follows Hugging Face's rules step by step, early stopping included", "[generate][beam]") {
  std::map<EarlyStopping, std::vector<std::vector<int64_t>>> by_mode;  // every answer, both families
  bool some_stopped_early = false;
  for (const std::string family : {"phi3", "internlm2"}) {
    INFO(family);
    auto model = random_model(family, 43);
    const std::vector<std::vector<int64_t>> prompts{random_prompt(6, 0, 36, 44), random_prompt(3, 0, 36, 45),
                                                    random_prompt(9, 0, 36, 46)};
    // Stop ids: the four likeliest first tokens of prompt 0, so hypotheses finish early and
    // often, and the two beams fill up before max_new_tokens (which the stopping rules need).
    const auto first = next_log_probs(model, {prompts[0]})[0];
    const auto top = std::get<1>(first.topk(4));
    auto options = beam_options(2, 8);
    for (int64_t i = 0; i < 4; ++i) options.stop_ids.push_back(top[i].item<int64_t>());
    options.num_return_sequences = 2;
    for (const auto mode : {EarlyStopping::heuristic, EarlyStopping::first, EarlyStopping::never}) {
      for (const double penalty : {1.0, 2.0, -0.5}) {
        options.early_stopping = mode;
        options.length_penalty = penalty;
        options.repetition_penalty = penalty > 0 ? 1.0 : 1.4;
        // Released decoding once per family: the beams' one-pass cache must follow them too.
        options.decode = mode == EarlyStopping::first && penalty == 2.0 ? DecodeMode::released : DecodeMode::exact;
        INFO("early stopping " << static_cast<int>(mode) << ", length penalty " << penalty << ", "
                               << decode_mode_name(options.decode));
        const auto batched = generate(model, prompts, {}, options);
        for (size_t i = 0; i < prompts.size(); ++i) {
          INFO("prompt " << i);
          const auto reference = reference_beam_search(model, prompts[i], options);
          some_stopped_early = some_stopped_early || reference.stopped_early;
          check_same_sequences(batched[i], reference.best);
          for (const auto& h : reference.best) by_mode[mode].push_back(h.ids);
        }
      }
    }
  }
  // The stopping rules are exercised, and they matter: each mode returns other answers.
  CHECK(some_stopped_early);
  CHECK(by_mode[EarlyStopping::heuristic] != by_mode[EarlyStopping::first]);
  CHECK(by_mode[EarlyStopping::heuristic] != by_mode[EarlyStopping::never]);
}

TEST_CASE("beam search: one beam is greedy, a batch is each prompt alone, the cache changes nothing", "[generate][beam]") {
  auto model = random_model("internlm2", 47);
  const auto& config = model->config();
  const int64_t image_token = config.resolved_image_token_id();
  auto with_image = random_prompt(4, 1, image_token, 48);
  with_image.insert(with_image.begin() + 1, config.vision.tokens_per_image(), image_token);
  const std::vector<std::vector<int64_t>> prompts{with_image, random_prompt(3, 1, image_token, 49),
                                                  random_prompt(8, 1, image_token, 50)};
  torch::manual_seed(51);
  const auto pixels = torch::randn({1, 3, config.vision.image_size, config.vision.image_size}, torch::kFloat64);

  GenerateOptions greedy;
  greedy.max_new_tokens = 8;
  const auto free_running = generate_greedy(model, prompts, pixels, greedy);
  greedy.stop_ids = {free_running[1][3]};
  const auto greedy_out = generate(model, prompts, pixels, greedy);
  for (const auto mode : {DecodeMode::exact, DecodeMode::released}) {
    INFO(decode_mode_name(mode));
    greedy.decode = mode;
    auto one_beam = beam_options(1, 8);
    one_beam.stop_ids = greedy.stop_ids;
    one_beam.decode = mode;
    const auto beam = generate(model, prompts, pixels, one_beam);
    const auto reference = generate(model, prompts, pixels, greedy);
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("prompt " << i);
      CHECK(beam[i][0].ids == reference[i][0].ids);
      // Beam scores divide by the length, the stop id counted; greedy scores are plain sums.
      const auto length = reference[i][0].ids.size() + (reference[i][0].finish == FinishReason::stop_id ? 1 : 0);
      CHECK(beam[i][0].score * static_cast<double>(length) == Approx(reference[i][0].score).epsilon(1e-9));
    }

    auto options = beam_options(4, 6);
    options.stop_ids = greedy.stop_ids;
    options.num_return_sequences = 4;
    options.decode = mode;
    const auto batched = generate(model, prompts, pixels, options);
    bool some_stop = false;  // the stop id is in play
    for (const auto& hypotheses : batched) {
      for (const auto& h : hypotheses) some_stop = some_stop || h.finish == FinishReason::stop_id;
    }
    CHECK(some_stop);
    const std::vector<torch::Tensor> images{pixels, {}, {}};
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("prompt " << i << " alone");
      check_same_sequences(batched[i], generate(model, {prompts[i]}, images[i], options)[0]);
    }
    if (mode == DecodeMode::exact) {
      // Without the cache every step reruns the whole sequence: both passes' cached keys must
      // have followed their beams for the answers to agree.
      options.use_cache = false;
      const auto uncached = generate(model, prompts, pixels, options);
      for (size_t i = 0; i < prompts.size(); ++i) check_same_sequences(batched[i], uncached[i]);
    }
  }
  CHECK(greedy_out[1][0].ids.size() <= 3);
}

TEST_CASE("top-k, top-p and temperature keep the tokens worked out by hand", "[generate][sample]") {
  // Probabilities 0.1, 0.5, 0.05, 0.2, 0.15 (most probable: 1, 3, 4, 0, 2).
  const auto logits = torch::log(torch::tensor({{0.1, 0.5, 0.05, 0.2, 0.15}}, torch::kFloat64));
  auto kept = [](const torch::Tensor& filtered) {
    std::vector<int64_t> ids;
    for (int64_t t = 0; t < filtered.size(1); ++t) {
      if (std::isfinite(filtered[0][t].item<double>())) ids.push_back(t);
    }
    return ids;
  };
  CHECK(kept(filter_logits(logits, 1.0, 0, 1.0)) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(kept(filter_logits(logits, 1.0, 2, 1.0)) == std::vector<int64_t>{1, 3});
  // 0.5 + 0.2 = 0.7 < 0.8, + 0.15 = 0.85: three tokens.
  CHECK(kept(filter_logits(logits, 1.0, 0, 0.8)) == std::vector<int64_t>{1, 3, 4});
  CHECK(kept(filter_logits(logits, 1.0, 0, 0.6)) == std::vector<int64_t>{1, 3});
  CHECK(kept(filter_logits(logits, 1.0, 0, 0.01)) == std::vector<int64_t>{1});  // always one
  // Top-p reads what top-k left, renormalised: 0.5 / 0.7 = 0.71 already reaches 0.6.
  CHECK(kept(filter_logits(logits, 1.0, 2, 0.6)) == std::vector<int64_t>{1});
  // Temperature 2 flattens to sqrt(p) normalised: 0.340, 0.215, 0.186, 0.152, 0.107 in order, so
  // p = 0.8 needs four tokens (0.740 < 0.8); the kept logits are the tempered ones.
  const auto hot = filter_logits(logits, 2.0, 0, 0.8);
  CHECK(kept(hot) == std::vector<int64_t>{0, 1, 3, 4});
  CHECK(hot[0][1].item<double>() == Approx(std::log(0.5) / 2));
  // Ties with the k-th logit stay; rows are filtered independently.
  const auto ties = filter_logits(torch::tensor({{3.0, 1.0, 3.0, 0.0}, {0.0, 2.0, 1.0, 2.5}}, torch::kFloat64), 1.0, 1, 1.0);
  CHECK(torch::equal(torch::isfinite(ties), torch::tensor({{true, false, true, false}, {false, false, false, true}})));
}

TEST_CASE("the repetition penalty divides positive and multiplies negative logits of seen tokens", "[generate]") {
  const auto logits = torch::tensor({{2.0, -1.0, 0.5, -3.0}}, torch::kFloat64);
  const auto seen = torch::tensor({{true, true, false, false}});
  CHECK(torch::allclose(apply_repetition_penalty(logits, seen, 2.0), torch::tensor({{1.0, -2.0, 0.5, -3.0}}, torch::kFloat64)));

  // In generation: over the prompt and the tokens generated so far, not the left padding.
  auto model = random_model("phi3", 52);
  const std::vector<std::vector<int64_t>> prompts{{5, 6, 5, 7, 8, 9}, {10, 10, 11}};
  GenerateOptions options;
  options.max_new_tokens = 8;
  options.repetition_penalty = 1.8;
  const auto penalised = generate_greedy(model, prompts, {}, options);
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("prompt " << i);
    auto ids = prompts[i];
    std::vector<int64_t> expected;
    for (int step = 0; step < 8; ++step) {
      // Greedy penalises the logits themselves (not log-probabilities: the penalty does not
      // commute with their shift).
      auto logits_row = next_logits(model, {ids})[0];
      for (const int64_t t : std::set<int64_t>(ids.begin(), ids.end())) {
        const double s = logits_row[t].item<double>();
        logits_row[t] = s < 0 ? s * 1.8 : s / 1.8;
      }
      const int64_t next = logits_row.argmax().item<int64_t>();
      expected.push_back(next);
      ids.push_back(next);
    }
    CHECK(penalised[i] == expected);
  }
  options.repetition_penalty = 1.0;
  CHECK(generate_greedy(model, prompts, {}, options) != penalised);
}

TEST_CASE("sampling: reproducible by seed, greedy at top-k 1 or a tiny temperature", "[generate][sample]") {
  auto model = random_model("phi3", 53);
  const std::vector<std::vector<int64_t>> prompts{random_prompt(5, 0, 36, 54), random_prompt(2, 0, 36, 55),
                                                  random_prompt(7, 0, 36, 56)};
  GenerateOptions greedy;
  greedy.max_new_tokens = 8;
  const auto expected = generate_greedy(model, prompts, {}, greedy);

  GenerateOptions sample = greedy;
  sample.strategy = SearchStrategy::sample;
  sample.top_k = 1;
  sample.seed = 3;
  const auto top1 = generate(model, prompts, {}, sample);
  for (size_t i = 0; i < prompts.size(); ++i) CHECK(top1[i][0].ids == expected[i]);
  sample.top_k = 0;
  sample.temperature = 1e-6;
  const auto cold = generate(model, prompts, {}, sample);
  for (size_t i = 0; i < prompts.size(); ++i) CHECK(cold[i][0].ids == expected[i]);

  sample.temperature = 1.5;
  auto ids = [&](uint64_t seed) {
    sample.seed = seed;
    std::vector<std::vector<int64_t>> out;
    for (const auto& sequences : generate(model, prompts, {}, sample)) out.push_back(sequences[0].ids);
    return out;
  };
  const auto a = ids(7);
  CHECK(a == ids(7));
  CHECK(a != ids(8));
  CHECK(a != expected);
  // The sampler has its own generator: the global one neither decides nor moves.
  torch::manual_seed(0);
  const auto before = torch::rand({1}).item<double>();
  torch::manual_seed(0);
  ids(7);
  CHECK(torch::rand({1}).item<double>() == before);
}

TEST_CASE("sampled first tokens follow the filtered softmax", "[generate][sample]") {
  auto model = random_model("internlm2", 57);
  const auto prompt = random_prompt(5, 0, 36, 58);
  const int64_t draws = 4000;
  GenerateOptions options;
  options.strategy = SearchStrategy::sample;
  options.max_new_tokens = 1;
  options.temperature = 0.7;
  options.top_k = 8;
  options.top_p = 0.9;
  options.seed = 11;
  const auto out = generate(model, std::vector<std::vector<int64_t>>(draws, prompt), {}, options);

  // The expected distribution, step by step: logits / T, the 8 largest, then the most probable
  // of those (renormalised) until their sum reaches 0.9, renormalised again.
  const auto logits = next_logits(model, {prompt})[0] / 0.7;
  const auto order = std::get<1>(logits.sort(-1, true));
  std::vector<int64_t> top8;
  for (int64_t r = 0; r < 8; ++r) top8.push_back(order[r].item<int64_t>());
  std::vector<double> p8;
  double z = 0;
  for (const auto t : top8) z += std::exp(logits[t].item<double>());
  for (const auto t : top8) p8.push_back(std::exp(logits[t].item<double>()) / z);
  std::map<int64_t, double> expected;
  double mass = 0;
  for (size_t r = 0; r < top8.size() && mass < 0.9; ++r) {
    expected[top8[r]] = p8[r];
    mass += p8[r];
  }
  for (auto& [t, p] : expected) p /= mass;
  REQUIRE(expected.size() >= 3);  // a distribution worth testing

  std::map<int64_t, int64_t> counts;
  for (const auto& sequences : out) ++counts[sequences[0].ids.at(0)];
  double chi2 = 0;
  for (const auto& [t, count] : counts) {
    INFO("token " << t << " drawn " << count << " times");
    REQUIRE(expected.count(t) == 1);  // a filtered-out token is never drawn
  }
  for (const auto& [t, p] : expected) {
    const double e = p * draws;
    chi2 += (counts[t] - e) * (counts[t] - e) / e;
  }
  INFO("chi-square " << chi2 << " over " << expected.size() - 1 << " degrees of freedom");
  CHECK(chi2 < 25.0);  // p < 1e-3 for up to 7 degrees of freedom: a correct sampler passes
  // The score of a draw is its log-probability under the filtered distribution.
  const auto& first = out[0][0];
  CHECK(first.score == Approx(std::log(expected[first.ids[0]])).epsilon(1e-9));
}

TEST_CASE("a stop string ends its row at the token that completes it, and cuts the text", "[generate]") {
  CHECK(cut_at_stop_strings("abcXYdefZ", {"Z", "XY"}) == "abc");
  CHECK(cut_at_stop_strings("abc", {"Z"}) == "abc");
  CHECK(cut_at_stop_strings("abc", {}) == "abc");

  auto model = random_model("phi3", 59);
  const std::vector<std::vector<int64_t>> prompts{random_prompt(4, 0, 36, 60), random_prompt(6, 0, 36, 61)};
  GenerateOptions options;
  options.max_new_tokens = 8;
  const auto free_running = generate_greedy(model, prompts, {}, options);
  options.detokenize = angle_text;
  // Across a token boundary: the end of row 0's second token and the start of its third.
  const auto& row0 = free_running[0];
  options.stop_strings = {std::to_string(row0[1]) + "><" + std::to_string(row0[2]), "no such text"};
  const auto stopped = generate(model, prompts, {}, options);
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("prompt " << i);
    // Expected: the free-running answer up to the first token whose text completes a stop string.
    std::vector<int64_t> expected;
    for (const auto id : free_running[i]) {
      expected.push_back(id);
      if (cut_at_stop_strings(angle_text(expected), options.stop_strings) != angle_text(expected)) break;
    }
    CHECK(stopped[i][0].ids == expected);
    CHECK(stopped[i][0].finish == (expected.size() < free_running[i].size() ? FinishReason::stop_string
                                                                             : FinishReason::length));
  }
  CHECK(stopped[0][0].ids.size() <= 3);

  // In beam search a stop string that is one token's whole text acts as that stop id, except that
  // the token stays in the returned ids.
  auto beam = beam_options(3, 6);
  beam.num_return_sequences = 3;
  beam.stop_ids = {row0[1]};
  const auto by_id = generate(model, prompts, {}, beam);
  beam.stop_ids.clear();
  beam.stop_strings = {"<" + std::to_string(row0[1]) + ">"};
  beam.detokenize = angle_text;
  const auto by_string = generate(model, prompts, {}, beam);
  bool some_stop = false;
  for (size_t i = 0; i < prompts.size(); ++i) {
    for (size_t h = 0; h < 3; ++h) {
      auto ids = by_id[i][h].ids;
      if (by_id[i][h].finish == FinishReason::stop_id) {
        ids.push_back(row0[1]);
        some_stop = true;
        CHECK(by_string[i][h].finish == FinishReason::stop_string);
      }
      CHECK(by_string[i][h].ids == ids);
      CHECK(by_string[i][h].score == Approx(by_id[i][h].score).epsilon(1e-12));
    }
  }
  CHECK(some_stop);
}

TEST_CASE("answers with stop strings: the tokenizer's text, cut before the stop string", "[generate][eval]") {
  const auto chat = chat_template("tiny");
  const auto tokenizer = Tokenizer::load(test::tiny_tokenizer_model(), chat.special_tokens());
  auto config = test::tiny_config("phi3");
  config.llm.vocab_size = tokenizer.vocab_size() + 1;  // the last id is the image token
  TrolModel model(config);
  model->to(torch::kFloat64);
  const std::vector<std::vector<int64_t>> prompts{tokenizer.encode("what is in this picture ?"),
                                                  tokenizer.encode("describe the image")};
  GenerateOptions options;
  options.max_new_tokens = 10;
  // A random model often ends at once (the template's end token is one of 400): take the first
  // seed whose answer to prompt 0 is long enough to cut in the middle.
  std::vector<std::string> free;
  for (uint64_t seed = 62; seed < 82; ++seed) {
    test::randomize_parameters(*model, seed);
    free = generate_answers(model, prompts, {}, tokenizer, chat, options);
    if (free[0].size() > 6) break;
  }
  REQUIRE(free[0].size() > 6);
  // A stop string from the middle of answer 0: it ends there; answer 1 is cut wherever it holds it.
  const auto stop = free[0].substr(3, 3);
  options.stop_strings = {stop};
  const auto cut = generate_answers(model, prompts, {}, tokenizer, chat, options);
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("answer " << i << ": '" << free[i] << "' stopped at '" << stop << "'");
    auto expected = cut_at_stop_strings(free[i], {stop});
    expected.erase(expected.find_last_not_of(" \n\t") + 1);
    CHECK(cut[i] == expected);
  }
  CHECK(cut[0].size() <= 3);
}

TEST_CASE("generation options that cannot work are refused, naming the fix", "[generate]") {
  auto model = random_model("phi3", 63);
  auto refused = [&](const GenerateOptions& o, const std::string& text) {
    INFO(text);
    CHECK_THROWS_WITH(generate(model, {{1, 2}}, {}, o), ContainsSubstring(text));
  };
  GenerateOptions o;
  o.num_beams = 3;
  refused(o, "set strategy beam");
  o = {};
  o.temperature = 0.5;
  refused(o, "set strategy sample");
  o.strategy = SearchStrategy::sample;
  o.temperature = 0;
  refused(o, "temperature must be > 0");
  o = beam_options(2, 4);
  o.num_return_sequences = 3;
  refused(o, "num_return_sequences is 3");
  o = {};
  o.stop_strings = {"x"};
  refused(o, "need detokenize");
  o.detokenize = angle_text;
  o.stop_strings = {""};
  refused(o, "empty string");
  o = {};
  o.strategy = SearchStrategy::sample;
  o.top_p = 0;
  refused(o, "top_p must be in (0, 1]");
  o = {};
  o.repetition_penalty = 0;
  refused(o, "repetition_penalty must be > 0");
}

TEST_CASE("eval.num_beams makes the evaluation search with beams", "[generate][eval][config]") {
  const auto file = std::filesystem::temp_directory_path() / ("trol_test_eval_beams_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << "eval:\n  num_beams: 5\n";
  const auto beams = generate_options(load_run_config(file.string()).eval);
  CHECK(beams.strategy == SearchStrategy::beam);
  CHECK(beams.num_beams == 5);
  const auto greedy = generate_options(load_run_config(file.string(), {"eval.num_beams=1"}).eval);
  CHECK(greedy.strategy == SearchStrategy::greedy);
  CHECK_THROWS_WITH(load_run_config(file.string(), {"eval.num_beams=0"}), ContainsSubstring("eval.num_beams: must be at least 1"));
  std::filesystem::remove(file);
}

}  // namespace test_generate_strategies
