// The boundary between trol and libsentencepiece, which must live in a separate link namespace.
//
// Why: Debian's libsentencepiece carries its own copy of protobuf-lite (3.14) and exports all of
// its symbols; LibTorch and OpenCV load the system libprotobuf (3.21). With both in one symbol
// scope, one copy's functions replace the other's and the process crashes in protobuf's static
// initialization, before main() (google/sentencepiece#186, #294 and many alike). Linking
// sentencepiece into any trol binary therefore breaks that binary.
//
// So trol never links it. A small module, libtrol_sentencepiece.so (sentencepiece_module.cpp),
// links it and is loaded with dlmopen(LM_ID_NEWLM): a new link namespace with its own copies of
// libstdc++ and libc, where nothing of it can meet LibTorch's protobuf. (RTLD_DEEPBIND is not
// enough: executables copy-relocate libstdc++ objects such as std::cerr and std::ctype<char>::id,
// which the deep-bound library would then see uninitialised.) Because the two sides use
// different C++ runtimes, only C types cross: plain functions, ints and bytes; results come
// back through callbacks that copy them; no exception, allocation or C++ object crosses.
#pragma once

#include <stddef.h>

extern "C" {

// Receives bytes (a string) or ints produced by the module; the module keeps ownership.
typedef void (*trol_spm_bytes_sink)(void* context, const char* data, size_t size);
typedef void (*trol_spm_ids_sink)(void* context, const int* ids, size_t count);

struct trol_spm_api {
  int version;  // TROL_SPM_API_VERSION of the module
  // A processor for `path`, or null with the reason sent to `error`.
  void* (*load)(const char* path, size_t path_size, trol_spm_bytes_sink error, void* error_context);
  void (*release)(void* processor);
  // 0 on success; otherwise the reason goes to `error`.
  int (*encode)(const void* processor, const char* text, size_t size, trol_spm_ids_sink out, void* out_context,
                trol_spm_bytes_sink error, void* error_context);
  int (*decode)(const void* processor, const int* ids, size_t count, trol_spm_bytes_sink out, void* out_context,
                trol_spm_bytes_sink error, void* error_context);
  int (*piece_size)(const void* processor);
  int (*piece_to_id)(const void* processor, const char* piece, size_t size);  // unk id when unknown
  void (*id_to_piece)(const void* processor, int id, trol_spm_bytes_sink out, void* out_context);
  int (*is_control)(const void* processor, int id);
  int (*unk_id)(const void* processor);
  int (*bos_id)(const void* processor);  // -1 when undefined
  int (*eos_id)(const void* processor);
  int (*pad_id)(const void* processor);
  // SentencePieceTrainer::Train with the given key/value arguments, after seeding its random
  // generator; 0 on success, otherwise the reason goes to `error`.
  int (*train)(const char* const* keys, const char* const* values, size_t count, unsigned int seed,
               trol_spm_bytes_sink error, void* error_context);
};

#define TROL_SPM_API_VERSION 1

// The one symbol the module exports.
const trol_spm_api* trol_sentencepiece_api(void);
}

namespace trol {

// The module's functions, loaded on first use (thread-safe). The module is looked for at
// $TROL_SENTENCEPIECE_MODULE, next to the running executable, then where the build put it.
// Throws std::runtime_error naming the places tried and the loader's message.
const trol_spm_api& sentencepiece_api();

}  // namespace trol
