// Reading the tensors of a state dict that Python's torch.save wrote (`.pt`, `.pth`, `.bin`),
// such as the released TroL models' trol_gating.pt (torch.save(model.trol_gating.state_dict())).
//
// Both of torch.save's formats: the zip archive it writes by default since torch 1.6
// (<archive>/data.pkl plus one record <archive>/data/<key> per storage, read with LibTorch's
// own zip reader), and the legacy stream of `_use_new_zipfile_serialization=False` (four
// pickles, then the storages' bytes in sequence).
//
// The pickle is interpreted, never executed: only what a state dict holds is understood (dicts
// and OrderedDicts, tensors rebuilt by torch._utils, their storages, and plain values in the
// OrderedDict's _metadata). LibTorch's torch::pickle_load is no way out: 1.13 reads an
// OrderedDict as None, so a state_dict() saved as it is would load as nothing there.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace trol {

// The tensors of the state dict in `file`, by name, as contiguous CPU tensors owning their memory
// (entries that shared a storage, as the released gates' `[Linear] * n` do, are separate copies).
// Throws std::runtime_error naming the file for anything else: not a torch.save file, a truncated
// one, a pickle of anything but a dict of tensors (a whole module, a list, a dict holding other
// values: the message names the class, the type or the key), or a big-endian file.
std::map<std::string, torch::Tensor> load_torch_state_dict(const std::string& file);

}  // namespace trol
