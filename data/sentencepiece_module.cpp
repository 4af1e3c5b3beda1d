// libtrol_sentencepiece.so: SentencePiece behind the C boundary of sentencepiece_api.h.
// Loaded into its own link namespace; see that header for why. Every entry point catches
// everything: an exception must never unwind into the other C++ runtime.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/sentencepiece_api.h"

namespace {

using sentencepiece::SentencePieceProcessor;

const SentencePieceProcessor& processor_of(const void* p) { return *static_cast<const SentencePieceProcessor*>(p); }

void send(trol_spm_bytes_sink sink, void* context, const std::string& text) {
  if (sink) sink(context, text.data(), text.size());
}

void* load(const char* path, size_t path_size, trol_spm_bytes_sink error, void* error_context) {
  try {
    auto processor = std::make_unique<SentencePieceProcessor>();
    const auto status = processor->Load(std::string(path, path_size));
    if (!status.ok()) {
      send(error, error_context, status.ToString());
      return nullptr;
    }
    return processor.release();
  } catch (const std::exception& e) {
    send(error, error_context, e.what());
  } catch (...) {
    send(error, error_context, "unknown error");
  }
  return nullptr;
}

void release(void* processor) { delete static_cast<SentencePieceProcessor*>(processor); }

int encode(const void* processor, const char* text, size_t size, trol_spm_ids_sink out, void* out_context,
           trol_spm_bytes_sink error, void* error_context) {
  try {
    std::vector<int> ids;
    const auto status = processor_of(processor).Encode(std::string_view(text, size), &ids);
    if (!status.ok()) {
      send(error, error_context, status.ToString());
      return 1;
    }
    out(out_context, ids.data(), ids.size());
    return 0;
  } catch (const std::exception& e) {
    send(error, error_context, e.what());
  } catch (...) {
    send(error, error_context, "unknown error");
  }
  return 1;
}

int decode(const void* processor, const int* ids, size_t count, trol_spm_bytes_sink out, void* out_context,
           trol_spm_bytes_sink error, void* error_context) {
  try {
    std::string text;
    const auto status = processor_of(processor).Decode(std::vector<int>(ids, ids + count), &text);
    if (!status.ok()) {
      send(error, error_context, status.ToString());
      return 1;
    }
    send(out, out_context, text);
    return 0;
  } catch (const std::exception& e) {
    send(error, error_context, e.what());
  } catch (...) {
    send(error, error_context, "unknown error");
  }
  return 1;
}

int piece_size(const void* processor) { return processor_of(processor).GetPieceSize(); }

int piece_to_id(const void* processor, const char* piece, size_t size) {
  try {
    return processor_of(processor).PieceToId(std::string_view(piece, size));
  } catch (...) {
    return processor_of(processor).unk_id();
  }
}

void id_to_piece(const void* processor, int id, trol_spm_bytes_sink out, void* out_context) {
  try {
    send(out, out_context, processor_of(processor).IdToPiece(id));
  } catch (...) {
  }
}

int is_control(const void* processor, int id) { return processor_of(processor).IsControl(id) ? 1 : 0; }
int unk_id(const void* processor) { return processor_of(processor).unk_id(); }
int bos_id(const void* processor) { return processor_of(processor).bos_id(); }
int eos_id(const void* processor) { return processor_of(processor).eos_id(); }
int pad_id(const void* processor) { return processor_of(processor).pad_id(); }

int train(const char* const* keys, const char* const* values, size_t count, unsigned int seed,
          trol_spm_bytes_sink error, void* error_context) {
  try {
    std::unordered_map<std::string, std::string> args;
    for (size_t i = 0; i < count; ++i) args[keys[i]] = values[i];
    sentencepiece::SetRandomGeneratorSeed(seed);
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok()) {
      send(error, error_context, status.ToString());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    send(error, error_context, e.what());
  } catch (...) {
    send(error, error_context, "unknown error");
  }
  return 1;
}

const trol_spm_api kApi = {TROL_SPM_API_VERSION, load, release, encode, decode, piece_size, piece_to_id,
                           id_to_piece, is_control, unk_id, bos_id, eos_id, pad_id, train};

}  // namespace

extern "C" __attribute__((visibility("default"))) const trol_spm_api* trol_sentencepiece_api(void) { return &kApi; }
