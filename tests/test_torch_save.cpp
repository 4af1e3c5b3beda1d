// trol/torch_save.h on files that Python's torch.save wrote (tests/fixtures/torch_save/, written by
// make_fixtures.py there with Debian's torch 1.13 and pip's torch 2.11): the released gates'
// layout (an OrderedDict with _metadata, one storage shared by two entries), other dtypes, a
// strided view, both of torch.save's formats; and what is not a state dict, refused by name.
#include "tests/catch.h"

#include <string>

#include "trol/torch_save.h"

namespace test_torch_save {

using namespace trol;

namespace {

const char* const kTorchVersions[] = {"torch-1.13", "torch-2.11"};

std::string fixture(const std::string& name, const std::string& torch_version) {
  return std::string(TROL_SOURCE_DIR) + "/tests/fixtures/torch_save/" + name + "_" + torch_version + ".pt";
}

// The values make_fixtures.py saved, written out by hand.
void check_fixture_state_dict(const std::map<std::string, torch::Tensor>& state) {
  std::vector<std::string> names;
  for (const auto& entry : state) names.push_back(entry.first);
  CHECK(names == std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.weight", "bf16", "empty", "half", "index",
                                          "mask", "scalar", "view"});
  const auto weight = torch::tensor({-1.0f, -0.75f, -0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f}).reshape({1, 8});
  for (const auto* layer : {"0", "1"}) {
    CHECK(torch::equal(state.at(std::string(layer) + ".weight"), weight));
    CHECK(torch::equal(state.at(std::string(layer) + ".bias"), torch::tensor({0.3f})));
  }
  // Entries that shared a storage are copies of their own.
  CHECK(state.at("0.weight").data_ptr() != state.at("1.weight").data_ptr());
  CHECK(state.at("bf16").scalar_type() == torch::kBFloat16);
  CHECK(torch::equal(state.at("bf16").to(torch::kFloat32),
                     torch::tensor({0.0f, 0.125f, 0.25f, 0.375f, 0.5f, 0.625f}).reshape({2, 3})));
  CHECK(state.at("half").scalar_type() == torch::kFloat16);
  CHECK(torch::equal(state.at("half").to(torch::kFloat32), torch::tensor({1.5f, -2.25f})));
  CHECK(torch::equal(state.at("index"), torch::tensor({int64_t{-3}, int64_t{5}, int64_t{1} << 40})));
  CHECK(torch::equal(state.at("mask"), torch::tensor({true, false, true})));
  // arange(12).reshape(3, 4)[1:, ::2]: rows 1 and 2, columns 0 and 2
  CHECK(torch::equal(state.at("view"), torch::tensor({4.0, 6.0, 8.0, 10.0}, torch::kFloat64).reshape({2, 2})));
  CHECK(state.at("view").is_contiguous());
  CHECK(state.at("scalar").dim() == 0);
  CHECK(state.at("scalar").item<float>() == 2.5f);
  CHECK(state.at("empty").sizes() == torch::IntArrayRef({0, 3}));
}

}  // namespace

TEST_CASE("torch.save of a state_dict() reads as its tensors, from torch 1.13 and torch 2.11", "[torch_save]") {
  for (const auto* version : kTorchVersions) {
    INFO(version);
    check_fixture_state_dict(load_torch_state_dict(fixture("state_dict", version)));
    check_fixture_state_dict(load_torch_state_dict(fixture("plain_dict", version)));
  }
}

TEST_CASE("torch.save's legacy format (_use_new_zipfile_serialization=False) reads the same", "[torch_save]") {
  for (const auto* version : kTorchVersions) {
    INFO(version);
    check_fixture_state_dict(load_torch_state_dict(fixture("state_dict_legacy", version)));
  }
}

TEST_CASE("torch.save files that are not a state dict are refused, naming the file and what it holds", "[torch_save]") {
  for (const auto* version : kTorchVersions) {
    INFO(version);
    const auto module = fixture("module", version);
    CHECK_THROWS_WITH(load_torch_state_dict(module),
                      ContainsSubstring(module + ": the pickle refers to torch.nn.modules.linear.Linear; trol reads "
                                                 "torch.save files of a state dict (a dict of tensors): save "
                                                 "module.state_dict(), not the module"));
    const auto list = fixture("list", version);
    CHECK_THROWS_WITH(load_torch_state_dict(list), ContainsSubstring(list + ": holds a list, not a dict of tensors"));
    const auto with_int = fixture("dict_with_int", version);
    CHECK_THROWS_WITH(load_torch_state_dict(with_int),
                      ContainsSubstring(with_int + ": entry 'step' is an int, not a tensor"));
    const auto truncated = fixture("truncated", version);
    CHECK_THROWS_WITH(load_torch_state_dict(truncated),
                      ContainsSubstring(truncated + ": not a zip archive that torch.save could have written (truncated?)"));
  }
  const auto not_torch = std::string(TROL_SOURCE_DIR) + "/tests/fixtures/torch_save/make_fixtures.py";
  CHECK_THROWS_WITH(load_torch_state_dict(not_torch),
                    ContainsSubstring(not_torch + ": not a file of torch.save (neither its zip archive nor its legacy format)"));
  CHECK_THROWS_WITH(load_torch_state_dict("/nonexistent/trol_gating.pt"),
                    ContainsSubstring("/nonexistent/trol_gating.pt: cannot be read"));
}

}  // namespace test_torch_save
