#include "data/sentencepiece_api.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace trol {

namespace {

// The places the module may be, in order of preference.
std::vector<std::string> module_candidates() {
  const std::string name = "libtrol_sentencepiece.so";
  std::vector<std::string> candidates;
  if (const char* path = std::getenv("TROL_SENTENCEPIECE_MODULE"); path && *path) candidates.push_back(path);
  std::error_code ec;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back((executable.parent_path() / name).string());
#ifdef TROL_SENTENCEPIECE_MODULE_PATH
  candidates.push_back(TROL_SENTENCEPIECE_MODULE_PATH);
#endif
  return candidates;
}

const trol_spm_api* load_module() {
  std::string tried;
  for (const auto& candidate : module_candidates()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(candidate, ec)) {
      tried += "\n  " + candidate + ": no such file";
      continue;
    }
    // A new link namespace: see sentencepiece_api.h. The handle is kept for the process's life.
    void* handle = ::dlmopen(LM_ID_NEWLM, candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      tried += "\n  " + candidate + ": " + ::dlerror();
      continue;
    }
    using Entry = const trol_spm_api* (*)();
    const auto entry = reinterpret_cast<Entry>(::dlsym(handle, "trol_sentencepiece_api"));
    const trol_spm_api* api = entry ? entry() : nullptr;
    if (!api || api->version != TROL_SPM_API_VERSION) {
      tried += "\n  " + candidate + ": not a matching trol SentencePiece module (rebuild it)";
      continue;
    }
    return api;
  }
  throw std::runtime_error("cannot load the SentencePiece module libtrol_sentencepiece.so (set "
                           "TROL_SENTENCEPIECE_MODULE to its path); tried:" + tried);
}

}  // namespace

const trol_spm_api& sentencepiece_api() {
  static std::once_flag once;
  static const trol_spm_api* api = nullptr;
  static std::string error;
  std::call_once(once, [] {
    try {
      api = load_module();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  if (!api) throw std::runtime_error(error);
  return *api;
}

}  // namespace trol
