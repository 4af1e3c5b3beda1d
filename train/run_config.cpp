#include "train/run_config.h"

#include "trol/config_reader.h"

namespace trol {

RunConfig load_run_config(const std::string& file, const std::vector<std::string>& overrides) {
  auto root = load_yaml_file(file);
  apply_overrides(root, overrides);
  ConfigReader reader(root, "", file);
  RunConfig config;
  config.source = file;
  YAML::Emitter emitter;
  emitter << root;
  config.effective_yaml = std::string(emitter.c_str()) + "\n";
  {
    auto model = reader.section("model");
    config.model = read_model_config(model);
  }
  {
    auto runtime = reader.section("runtime");
    config.runtime = read_runtime_config(runtime);
  }
  {
    auto data = reader.section("data");
    config.data = read_data_config(data);
  }
  {
    auto train = reader.section("train");
    config.train = read_train_config(train);
  }
  {
    auto eval = reader.section("eval");
    config.eval = read_eval_options(eval);
  }
  {
    auto distributed = reader.section("distributed");
    config.distributed = read_distributed_config(distributed);
  }
  reader.finish();
  return config;
}

}  // namespace trol
