// The precompiled header: the heavy, stable third-party headers only.
#pragma once
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>
#include <map>
#include <memory>
#include <optional>
