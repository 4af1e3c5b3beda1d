#include "train/distributed/distributed_config.h"

#include "trol/config_reader.h"

namespace trol {

DistributedConfig read_distributed_config(ConfigReader& reader) {
  DistributedConfig c;
  reader.read("backend", c.backend);
  reader.read("timeout_seconds", c.timeout_seconds);
  reader.read("bucket_cap_mb", c.bucket_cap_mb);
  reader.read("zero1", c.zero1);
  reader.finish();
  if (c.backend != "auto" && c.backend != "gloo" && c.backend != "nccl") {
    reader.fail("backend", "expected auto, gloo or nccl, got '" + c.backend + "'");
  }
  if (!(c.timeout_seconds > 0)) reader.fail("timeout_seconds", "must be positive");
  if (!(c.bucket_cap_mb > 0)) reader.fail("bucket_cap_mb", "must be positive");
  return c;
}

}  // namespace trol
