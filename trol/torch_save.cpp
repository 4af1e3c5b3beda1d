#include "trol/torch_save.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace trol {
namespace {

// One storage the pickle refers to by key; its bytes come from the zip record data/<key> or,
// in the legacy format, from after the pickles.
struct Storage {
  std::string key;
  torch::ScalarType dtype = torch::kFloat32;
  int64_t numel = 0;
  torch::Tensor data;  // 1-d, numel elements, once read
};

// What a state dict's pickle builds. Containers are shared (the pickle's memo refers back to them
// and SETITEMS fills a dict after it was pushed), hence the pointers.
struct Value;
using ValueRef = std::shared_ptr<Value>;
struct Value {
  enum class Kind { None, Bool, Int, Float, Text, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t integer = 0;              // Int, Bool
  double real = 0;                  // Float
  std::string text;                 // Text, Bytes, Global ("module.name")
  std::vector<ValueRef> items;      // Tuple, List; Dict: key, value, key, value, ...
  std::shared_ptr<Storage> storage;  // Storage, Tensor
  int64_t offset = 0;               // Tensor: its view of the storage
  std::vector<int64_t> sizes, strides;
};

ValueRef make(Value::Kind kind) {
  auto value = std::make_shared<Value>();
  value->kind = kind;
  return value;
}

std::string kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "a bool";
    case Value::Kind::Int: return "an int";
    case Value::Kind::Float: return "a float";
    case Value::Kind::Text: return "a str";
    case Value::Kind::Bytes: return "bytes";
    case Value::Kind::Tuple: return "a tuple";
    case Value::Kind::List: return "a list";
    case Value::Kind::Dict: return "a dict";
    case Value::Kind::Global: return "a class or function";
    case Value::Kind::Storage: return "a storage";
    case Value::Kind::Tensor: return "a tensor";
  }
  return "?";
}

// torch.<Name>Storage, the storage classes torch.save names (the same in 1.x and 2.x files).
const std::map<std::string, torch::ScalarType>& storage_dtypes() {
  static const std::map<std::string, torch::ScalarType> dtypes{
      {"torch.FloatStorage", torch::kFloat32},  {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},   {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},     {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},    {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},     {"torch.BoolStorage", torch::kBool}};
  return dtypes;
}

const std::string kOrderedDict = "collections.OrderedDict";
const std::string kRebuildTensor = "torch._utils._rebuild_tensor_v2";
const std::string kRebuildParameter = "torch._utils._rebuild_parameter";

// The state-dict subset of pickle protocols 2 to 5, as torch.save writes them.
class Unpickler {
 public:
  using PersistentLoad = std::function<std::shared_ptr<Storage>(const Value& id)>;

  Unpickler(std::string file, const char* data, size_t size, PersistentLoad persistent_load)
      : file_(std::move(file)), data_(data), size_(size), persistent_load_(std::move(persistent_load)) {}

  size_t position() const { return pos_; }

  // The next pickle, from the current position to its STOP.
  ValueRef load() {
    stack_.clear();
    marks_.clear();
    memo_.clear();
    while (true) {
      const auto op = static_cast<unsigned char>(take(1)[0]);
      switch (op) {
        case 0x80: take(1); break;          // PROTO
        case 0x95: take(8); break;          // FRAME (protocol 4: a length hint)
        case '.': return pop();             // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case ')': push(make(Value::Kind::Tuple)); break;   // EMPTY_TUPLE
        case 't': push(sequence(Value::Kind::Tuple, pop_mark())); break;
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          const size_t n = op - 0x84;
          if (stack_.size() < n) fail("malformed pickle: TUPLE" + std::to_string(n) + " on a short stack");
          std::vector<ValueRef> items(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(sequence(Value::Kind::Tuple, std::move(items)));
          break;
        }
        case ']': push(make(Value::Kind::List)); break;  // EMPTY_LIST
        case 'l': push(sequence(Value::Kind::List, pop_mark())); break;
        case 'a': {  // APPEND
          auto item = pop();
          expect(top(), Value::Kind::List, "APPEND").items.push_back(item);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_mark();
          auto& list = expect(top(), Value::Kind::List, "APPENDS").items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case '}': push(make(Value::Kind::Dict)); break;  // EMPTY_DICT
        case 'd': {  // DICT
          auto items = pop_mark();
          if (items.size() % 2 != 0) fail("malformed pickle: DICT with an odd number of items");
          push(sequence(Value::Kind::Dict, std::move(items)));
          break;
        }
        case 's': {  // SETITEM
          auto value = pop();
          auto key = pop();
          auto& dict = expect(top(), Value::Kind::Dict, "SETITEM").items;
          dict.push_back(key);
          dict.push_back(value);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2 != 0) fail("malformed pickle: SETITEMS with an odd number of items");
          auto& dict = expect(top(), Value::Kind::Dict, "SETITEMS").items;
          dict.insert(dict.end(), items.begin(), items.end());
          break;
        }
        case 'N': push(make(Value::Kind::None)); break;
        case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
          auto value = make(Value::Kind::Bool);
          value->integer = op == 0x88;
          push(value);
          break;
        }
        case 'K': push_int(static_cast<unsigned char>(take(1)[0])); break;  // BININT1
        case 'M': push_int(little_endian(take(2), 2)); break;                // BININT2
        case 'J': push_int(static_cast<int32_t>(little_endian(take(4), 4))); break;  // BININT
        case 0x8a: {  // LONG1: n bytes, two's complement
          const auto n = static_cast<unsigned char>(take(1)[0]);
          if (n > 8) fail("an integer of " + std::to_string(n) + " bytes, beyond what a state dict holds");
          auto value = n == 0 ? 0 : little_endian(take(n), n);
          if (n > 0 && n < 8 && (value >> (8 * n - 1)) & 1) value -= uint64_t{1} << (8 * n);  // sign-extend
          push_int(static_cast<int64_t>(value));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          const char* bytes = take(8);
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(bytes[i]);
          auto value = make(Value::Kind::Float);
          std::memcpy(&value->real, &bits, sizeof bits);
          push(value);
          break;
        }
        case 'X': push_text(Value::Kind::Text, little_endian(take(4), 4)); break;     // BINUNICODE
        case 0x8c: push_text(Value::Kind::Text, static_cast<unsigned char>(take(1)[0])); break;  // SHORT_BINUNICODE
        case 0x8d: push_text(Value::Kind::Text, little_endian(take(8), 8)); break;    // BINUNICODE8
        case 'U': push_text(Value::Kind::Text, static_cast<unsigned char>(take(1)[0])); break;  // SHORT_BINSTRING
        case 'T': push_text(Value::Kind::Text, little_endian(take(4), 4)); break;     // BINSTRING
        case 'C': push_text(Value::Kind::Bytes, static_cast<unsigned char>(take(1)[0])); break;  // SHORT_BINBYTES
        case 'B': push_text(Value::Kind::Bytes, little_endian(take(4), 4)); break;    // BINBYTES
        case 'q': memo_[static_cast<unsigned char>(take(1)[0])] = top(); break;        // BINPUT
        case 'r': memo_[little_endian(take(4), 4)] = top(); break;                    // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;                                // MEMOIZE
        case 'h': push(recall(static_cast<unsigned char>(take(1)[0]))); break;         // BINGET
        case 'j': push(recall(little_endian(take(4), 4))); break;                     // LONG_BINGET
        case 'c': {  // GLOBAL "module\nname\n"
          auto module = line();
          push_global(module + "." + line());
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          if (module->kind != Value::Kind::Text || name->kind != Value::Kind::Text) fail("malformed pickle: STACK_GLOBAL");
          push_global(module->text + "." + name->text);
          break;
        }
        case 'R': {  // REDUCE: callable(*args)
          auto args = pop();
          auto callable = pop();
          push(call(expect(callable, Value::Kind::Global, "REDUCE").text, expect(args, Value::Kind::Tuple, "REDUCE").items));
          break;
        }
        case 'b': {  // BUILD: an OrderedDict's state (its _metadata), which a state dict does not need
          pop();
          expect(top(), Value::Kind::Dict, "BUILD");
          break;
        }
        case 'Q': {  // BINPERSID: a storage, named by a tuple ('storage', type, key, location, numel, ...)
          auto id = pop();
          auto value = make(Value::Kind::Storage);
          value->storage = persistent_load_(*id);
          push(value);
          break;
        }
        case 0x81: case 0x92:  // NEWOBJ, NEWOBJ_EX: an instance of a class
          fail("the pickle builds an object" + (stack_.size() >= 2 && stack_[stack_.size() - 2]->kind == Value::Kind::Global
                                                   ? " of " + stack_[stack_.size() - 2]->text
                                                   : std::string()) +
               not_a_state_dict());
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(std::string("pickle opcode ") + hex + " at byte " + std::to_string(pos_ - 1) +
               " is not one a state dict's pickle uses" + not_a_state_dict());
        }
      }
    }
  }

  [[noreturn]] void fail(const std::string& message) const { throw std::runtime_error(file_ + ": " + message); }

  static std::string not_a_state_dict() {
    return "; trol reads torch.save files of a state dict (a dict of tensors): save module.state_dict(), not the module";
  }

 private:
  const char* take(size_t n) {
    if (n > size_ - pos_) fail("the pickle ends early, at byte " + std::to_string(size_) + " (is the file truncated?)");
    const char* at = data_ + pos_;
    pos_ += n;
    return at;
  }
  static uint64_t little_endian(const char* bytes, size_t n) {
    uint64_t value = 0;
    for (size_t i = n; i-- > 0;) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
    return value;
  }
  std::string line() {
    const auto* begin = data_ + pos_;
    const auto* end = static_cast<const char*>(std::memchr(begin, '\n', size_ - pos_));
    if (end == nullptr) fail("the pickle ends early, inside a GLOBAL (is the file truncated?)");
    pos_ += static_cast<size_t>(end - begin) + 1;
    return std::string(begin, end);
  }

  void push(ValueRef value) { stack_.push_back(std::move(value)); }
  void push_int(int64_t integer) {
    auto value = make(Value::Kind::Int);
    value->integer = integer;
    push(value);
  }
  void push_text(Value::Kind kind, uint64_t length) {
    auto value = make(kind);
    value->text = std::string(take(length), length);
    push(value);
  }
  void push_global(const std::string& name) {
    if (name != kOrderedDict && name != kRebuildTensor && name != kRebuildParameter && storage_dtypes().count(name) == 0) {
      fail("the pickle refers to " + name + not_a_state_dict());
    }
    auto value = make(Value::Kind::Global);
    value->text = name;
    push(value);
  }
  ValueRef pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("malformed pickle: pop from an empty stack");
    auto value = stack_.back();
    stack_.pop_back();
    return value;
  }
  const ValueRef& top() const {
    if (stack_.empty()) fail("malformed pickle: empty stack");
    return stack_.back();
  }
  std::vector<ValueRef> pop_mark() {
    if (marks_.empty()) fail("malformed pickle: no MARK");
    std::vector<ValueRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  ValueRef recall(uint64_t index) const {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("malformed pickle: memo entry " + std::to_string(index) + " was never stored");
    return it->second;
  }
  Value& expect(const ValueRef& value, Value::Kind kind, const std::string& op) const {
    if (value->kind != kind) fail("malformed pickle: " + op + " on " + kind_name(value->kind) + ", not " + kind_name(kind));
    return *value;
  }
  static ValueRef sequence(Value::Kind kind, std::vector<ValueRef> items) {
    auto value = make(kind);
    value->items = std::move(items);
    return value;
  }
  std::vector<int64_t> integers(const ValueRef& tuple, const std::string& what) const {
    std::vector<int64_t> out;
    for (const auto& item : expect(tuple, Value::Kind::Tuple, what).items) {
      if (item->kind != Value::Kind::Int) fail("malformed pickle: " + what + " holds " + kind_name(item->kind));
      out.push_back(item->integer);
    }
    return out;
  }

  ValueRef call(const std::string& callable, const std::vector<ValueRef>& args) {
    if (callable == kOrderedDict) return make(Value::Kind::Dict);
    if (callable == kRebuildParameter) {  // (data, requires_grad, backward_hooks)
      if (args.empty() || args[0]->kind != Value::Kind::Tensor) fail("malformed pickle: " + callable + " without a tensor");
      return args[0];
    }
    if (callable == kRebuildTensor) {  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (args.size() < 4 || args[0]->kind != Value::Kind::Storage || args[1]->kind != Value::Kind::Int) {
        fail("malformed pickle: " + callable + " with unexpected arguments");
      }
      auto tensor = make(Value::Kind::Tensor);
      tensor->storage = args[0]->storage;
      tensor->offset = args[1]->integer;
      tensor->sizes = integers(args[2], "a tensor's size");
      tensor->strides = integers(args[3], "a tensor's stride");
      if (tensor->sizes.size() != tensor->strides.size()) fail("malformed pickle: a tensor's size and stride differ in length");
      return tensor;
    }
    fail("the pickle calls " + callable + not_a_state_dict());
  }

  std::string file_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  PersistentLoad persistent_load_;
  std::vector<ValueRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValueRef> memo_;
};

// The storage a persistent id names: ('storage', torch.<Type>Storage, key, location, numel[, view]).
std::shared_ptr<Storage> storage_of(const Unpickler& reader, const Value& id) {
  const auto& items = id.items;
  if (id.kind != Value::Kind::Tuple || items.size() < 5 || items[0]->kind != Value::Kind::Text ||
      items[0]->text != "storage" || items[1]->kind != Value::Kind::Global || items[2]->kind != Value::Kind::Text ||
      items[4]->kind != Value::Kind::Int) {
    reader.fail("a persistent id that is not a storage's ('storage', type, key, location, numel)");
  }
  if (items.size() > 5 && items[5]->kind != Value::Kind::None) {
    reader.fail("storage " + items[2]->text + " is a view of another storage (torch before 0.4), which trol does not read");
  }
  auto storage = std::make_shared<Storage>();
  storage->dtype = storage_dtypes().at(items[1]->text);  // push_global admitted only these
  storage->key = items[2]->text;
  storage->numel = items[4]->integer;
  return storage;
}

torch::Tensor storage_tensor(const Unpickler& reader, const Storage& storage, const char* bytes, size_t size) {
  const auto expected = static_cast<size_t>(storage.numel) * c10::elementSize(storage.dtype);
  if (storage.numel < 0 || size != expected) {
    reader.fail("storage " + storage.key + " holds " + std::to_string(size) + " bytes, its " +
                std::to_string(storage.numel) + " elements of " + c10::toString(storage.dtype) + " need " +
                std::to_string(expected));
  }
  auto tensor = torch::empty({storage.numel}, torch::TensorOptions().dtype(storage.dtype));
  if (size > 0) std::memcpy(tensor.data_ptr(), bytes, size);
  return tensor;
}

// The top-level dict of tensors, each copied out of its storage (after checking that the view
// stays inside it: as_strided does not).
std::map<std::string, torch::Tensor> state_dict_of(const Unpickler& reader, const ValueRef& root) {
  if (root->kind != Value::Kind::Dict) {
    reader.fail("holds " + kind_name(root->kind) + ", not a dict of tensors as torch.save(module.state_dict()) writes");
  }
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
    const auto& key = root->items[i];
    const auto& value = root->items[i + 1];
    if (key->kind != Value::Kind::Text) reader.fail("a key of the dict is " + kind_name(key->kind) + ", not a str");
    if (value->kind != Value::Kind::Tensor) {
      reader.fail("entry '" + key->text + "' is " + kind_name(value->kind) +
                  ", not a tensor: trol reads a state dict, a dict of tensors only");
    }
    const auto& storage = *value->storage;
    int64_t last = value->offset;
    bool empty = false;
    for (size_t d = 0; d < value->sizes.size(); ++d) {
      if (value->sizes[d] < 0 || value->strides[d] < 0) reader.fail("entry '" + key->text + "' has a negative size or stride");
      empty = empty || value->sizes[d] == 0;
      if (value->sizes[d] > 0) last += (value->sizes[d] - 1) * value->strides[d];
    }
    if (value->offset < 0 || (!empty && last >= storage.numel)) {
      reader.fail("entry '" + key->text + "' reaches element " + std::to_string(last) + " of storage " + storage.key +
                  ", which has " + std::to_string(storage.numel));
    }
    out[key->text] = storage.data.as_strided(value->sizes, value->strides, value->offset).clone(torch::MemoryFormat::Contiguous);
  }
  return out;
}

std::string first_line(const char* message) {
  std::string text(message);
  return text.substr(0, text.find('\n'));
}

// The zip format: <archive>/data.pkl, <archive>/data/<key> per storage, <archive>/byteorder (2.x).
std::map<std::string, torch::Tensor> load_zip(const std::string& file) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(file);
  } catch (const c10::Error& e) {
    throw std::runtime_error(file + ": not a zip archive that torch.save could have written (truncated?): " +
                             first_line(e.what_without_backtrace()));
  }
  auto record = [&](const std::string& name) {
    try {
      if (!archive->hasRecord(name)) throw std::runtime_error(file + ": the archive has no record '" + name + "'");
      auto [data, size] = archive->getRecord(name);
      return std::make_pair(std::move(data), size);
    } catch (const c10::Error& e) {
      throw std::runtime_error(file + ": record '" + name + "' cannot be read: " + first_line(e.what_without_backtrace()));
    }
  };
  if (archive->hasRecord("byteorder")) {
    const auto [data, size] = record("byteorder");
    const std::string order(static_cast<const char*>(data.get()), size);
    if (order != "little") throw std::runtime_error(file + ": written on a " + order + "-endian machine; trol reads little-endian files");
  }
  const auto [pickle, pickle_size] = record("data.pkl");
  std::map<std::string, std::shared_ptr<Storage>> storages;
  Unpickler* self = nullptr;
  // Storages are read as the pickle names them (a shared one once).
  Unpickler reader(file, static_cast<const char*>(pickle.get()), pickle_size, [&](const Value& id) {
    auto storage = storage_of(*self, id);
    auto& known = storages[storage->key];
    if (!known) {
      const auto [data, size] = record("data/" + storage->key);
      storage->data = storage_tensor(*self, *storage, static_cast<const char*>(data.get()), size);
      known = storage;
    }
    return known;
  });
  self = &reader;
  return state_dict_of(reader, reader.load());
}

// The legacy format: pickles of a magic number, the protocol version and the saving system's
// info, then the object, then the list of storage keys, then each storage as an 8-byte
// little-endian element count and its bytes.
const std::string kLegacyMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15);

std::map<std::string, torch::Tensor> load_legacy(const std::string& file, const std::vector<char>& bytes) {
  const char* data = bytes.data() + kLegacyMagic.size();
  const size_t size = bytes.size() - kLegacyMagic.size();
  std::map<std::string, std::shared_ptr<Storage>> storages;
  Unpickler* self = nullptr;
  Unpickler reader(file, data, size, [&](const Value& id) {
    auto storage = storage_of(*self, id);
    auto& known = storages[storage->key];
    if (!known) known = storage;
    return known;
  });
  self = &reader;
  reader.load();  // protocol version
  const auto system = reader.load();
  for (size_t i = 0; system->kind == Value::Kind::Dict && i + 1 < system->items.size(); i += 2) {
    if (system->items[i]->text == "little_endian" && system->items[i + 1]->integer == 0) {
      reader.fail("written on a big-endian machine; trol reads little-endian files");
    }
  }
  const auto root = reader.load();
  const auto keys = reader.load();
  if (keys->kind != Value::Kind::List) reader.fail("the legacy format's list of storage keys is " + kind_name(keys->kind));
  size_t pos = reader.position();
  for (const auto& key : keys->items) {
    const auto it = storages.find(key->text);
    if (key->kind != Value::Kind::Text || it == storages.end()) reader.fail("storage key '" + key->text + "' is not used by the pickle");
    auto& storage = *it->second;
    if (size - pos < 8) reader.fail("the file ends before storage " + storage.key + " (truncated?)");
    int64_t count = 0;
    std::memcpy(&count, data + pos, 8);  // little-endian, as the file is
    pos += 8;
    const auto length = static_cast<size_t>(std::max<int64_t>(count, 0)) * c10::elementSize(storage.dtype);
    if (count != storage.numel || size - pos < length) {
      reader.fail("storage " + storage.key + ": " + std::to_string(count) + " elements recorded, " +
                  std::to_string(storage.numel) + " expected, " + std::to_string(size - pos) + " bytes left (truncated?)");
    }
    storage.data = storage_tensor(reader, storage, data + pos, length);
    pos += length;
  }
  for (const auto& [key, storage] : storages) {
    if (!storage->data.defined()) reader.fail("storage " + key + " is not in the file (truncated?)");
  }
  return state_dict_of(reader, root);
}

}  // namespace

std::map<std::string, torch::Tensor> load_torch_state_dict(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file + ": cannot be read");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string head(bytes.data(), std::min<size_t>(bytes.size(), kLegacyMagic.size()));
  if (head.rfind("PK", 0) == 0) return load_zip(file);
  if (head == kLegacyMagic) return load_legacy(file, bytes);
  throw std::runtime_error(file + ": not a file of torch.save (neither its zip archive nor its legacy format)");
}

}  // namespace trol
