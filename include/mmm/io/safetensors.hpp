#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header mapping names to {dtype, shape,
// data_offsets}, then the raw little-endian data.
//
// The reader trusts nothing in the file. The header is parsed strictly (one JSON object,
// no duplicate names, no unknown fields, integer shapes and offsets), every size is
// computed with overflow checks, and the data ranges must tile the data section exactly,
// in order, without holes or overlaps, as the reference implementation requires. Any
// violation is a FormatError naming the file and the tensor.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmm/core/dtype.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/io/mapped_file.hpp"

namespace mmm {

static_assert(std::endian::native == std::endian::little,
              "mmm's safetensors reader assumes a little-endian host, as the format's data is");

struct TensorInfo {
  DType dtype{};
  Shape shape;
  std::size_t begin = 0;  // byte range within the data section
  std::size_t end = 0;
};

class SafeTensors {
 public:
  // Headers beyond this are refused before parsing: the reference implementation's limit.
  static constexpr std::uint64_t max_header_bytes = 100'000'000;

  explicit SafeTensors(const std::string& path) : file_(path) { parse(); }

  // Parses bytes that the caller keeps alive; `name` is used in error messages.
  static SafeTensors from_bytes(std::span<const std::byte> bytes, std::string name = "<memory>") {
    return SafeTensors(MappedFile::borrow(bytes, std::move(name)));
  }

  const std::string& path() const noexcept { return file_.path(); }
  bool contains(std::string_view name) const { return index_.find(std::string(name)) != index_.end(); }
  std::size_t size() const noexcept { return order_.size(); }
  // Names in the order of their data in the file.
  const std::vector<std::string>& names() const noexcept { return order_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

  const TensorInfo& info(std::string_view name) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end()) throw MissingParameterError(std::string(name), "'" + path() + "'");
    return it->second;
  }

  // The raw little-endian bytes of a tensor, inside the mapping.
  std::span<const std::byte> raw(std::string_view name) const {
    const TensorInfo& t = info(name);
    return data_.subspan(t.begin, t.end - t.begin);
  }

  // Decodes a float tensor (F32, F16, BF16, F64) into `out` of numel() floats.
  void read_floats(std::string_view name, float* out) const {
    const TensorInfo& t = info(name);
    const std::byte* p = data_.data() + t.begin;
    const auto n = static_cast<std::size_t>(t.shape.numel());
    if (n == 0) return;  // an empty tensor may have no storage at all
    switch (t.dtype) {
      case DType::F32: std::memcpy(out, p, n * 4); return;
      case DType::F64:
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<double>(p + 8 * i));
        return;
      case DType::F16:
        for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(load<std::uint16_t>(p + 2 * i));
        return;
      case DType::BF16:
        for (std::size_t i = 0; i < n; ++i) out[i] = bfloat16_to_float(load<std::uint16_t>(p + 2 * i));
        return;
      default:
        throw DTypeError("tensor '" + std::string(name) + "' in '" + path() + "' has dtype " +
                         std::string(mmm::name(t.dtype)) + "; a float tensor needs F32, F16, BF16 or F64");
    }
  }

  Tensor tensor(std::string_view name) const {
    Tensor out(info(name).shape);
    read_floats(name, out.data());
    return out;
  }

  // Decodes an integer (or bool) tensor to int32, refusing values that do not fit.
  IntTensor int_tensor(std::string_view name) const {
    const TensorInfo& t = info(name);
    IntTensor out(t.shape);
    const std::byte* p = data_.data() + t.begin;
    const auto n = static_cast<std::size_t>(t.shape.numel());
    auto put = [&](std::size_t i, auto v) {
      using V = decltype(v);
      if (!std::in_range<std::int32_t>(v))
        throw RangeError("tensor '" + std::string(name) + "' in '" + path() + "': element " + std::to_string(i) +
                         " = " + std::to_string(static_cast<long long>(v)) + " does not fit in int32");
      out[static_cast<index>(i)] = static_cast<std::int32_t>(static_cast<V>(v));
    };
    for (std::size_t i = 0; i < n; ++i) {
      switch (t.dtype) {
        case DType::I64: put(i, load<std::int64_t>(p + 8 * i)); break;
        case DType::U64: put(i, load<std::uint64_t>(p + 8 * i)); break;
        case DType::I32: put(i, load<std::int32_t>(p + 4 * i)); break;
        case DType::U32: put(i, load<std::uint32_t>(p + 4 * i)); break;
        case DType::I16: put(i, load<std::int16_t>(p + 2 * i)); break;
        case DType::U16: put(i, load<std::uint16_t>(p + 2 * i)); break;
        case DType::I8: put(i, load<std::int8_t>(p + i)); break;
        case DType::U8: case DType::BOOL: put(i, load<std::uint8_t>(p + i)); break;
        default:
          throw DTypeError("tensor '" + std::string(name) + "' in '" + path() + "' has dtype " +
                           std::string(mmm::name(t.dtype)) + "; an integer tensor was expected");
      }
    }
    return out;
  }

 private:
  explicit SafeTensors(MappedFile f) : file_(std::move(f)) { parse(); }

  template <class T>
  static T load(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));  // data offsets need not be aligned
    return v;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("'" + path() + "' is not a valid safetensors file: " + what);
  }

  void parse() {
    const std::span<const std::byte> bytes = file_.bytes();
    if (bytes.size() < 8) fail("it has " + std::to_string(bytes.size()) + " bytes, fewer than the 8-byte header length");
    const auto header_len = load<std::uint64_t>(bytes.data());
    if (header_len > max_header_bytes)
      fail("the header claims " + std::to_string(header_len) + " bytes, more than the limit of " +
           std::to_string(max_header_bytes));
    if (header_len > bytes.size() - 8)
      fail("the header claims " + std::to_string(header_len) + " bytes but only " + std::to_string(bytes.size() - 8) +
           " follow (truncated file?)");
    const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), static_cast<std::size_t>(header_len));
    data_ = bytes.subspan(8 + static_cast<std::size_t>(header_len));

    if (text.empty() || text.front() != '{') fail("the header does not start with '{'");
    nlohmann::json header;
    std::string duplicate;
    std::set<std::string> top_keys;
    // The callback sees every key; names at depth 1 are the tensor names and __metadata__.
    auto check_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (event == nlohmann::json::parse_event_t::key && depth == 1 && duplicate.empty()) {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!top_keys.insert(key).second) duplicate = key;
      }
      return true;
    };
    try {
      header = nlohmann::json::parse(text.begin(), text.end(), check_keys, /*allow_exceptions=*/true,
                                     /*ignore_comments=*/false);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("the JSON header does not parse: ") + e.what());
    }
    if (!duplicate.empty()) fail("the header names '" + duplicate + "' twice");
    if (!header.is_object()) fail("the header is not a JSON object");

    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    for (auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (!entry.is_object()) fail("__metadata__ is not an object");
        for (auto& [k, v] : entry.items()) {
          if (!v.is_string()) fail("__metadata__ value for '" + k + "' is not a string");
          metadata_[k] = v.get<std::string>();
        }
        continue;
      }
      index_.emplace(name, parse_entry(name, entry));
      ranges.emplace_back(index_[name].begin, index_[name].end);
    }

    // Ranges must tile the data section: sorted, each starting where the last ended.
    order_.reserve(index_.size());
    for (const auto& [name, t] : index_) order_.push_back(name);
    std::sort(order_.begin(), order_.end(), [&](const std::string& a, const std::string& b) {
      const TensorInfo &ta = index_.at(a), &tb = index_.at(b);
      return std::tie(ta.begin, ta.end) < std::tie(tb.begin, tb.end);
    });
    std::size_t expected = 0;
    for (const std::string& name : order_) {
      const TensorInfo& t = index_.at(name);
      if (t.begin != expected)
        fail("tensor '" + name + "' starts at byte " + std::to_string(t.begin) + " of the data but " +
             (t.begin < expected ? "that overlaps the previous tensor" : "bytes before it belong to no tensor") +
             " (expected " + std::to_string(expected) + ")");
      expected = t.end;
    }
    if (expected != data_.size())
      fail("the tensors cover " + std::to_string(expected) + " bytes of data but the file has " +
           std::to_string(data_.size()) + (expected < data_.size() ? " (trailing bytes)" : ""));
  }

  TensorInfo parse_entry(const std::string& name, const nlohmann::json& entry) const {
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) fail(where + " is not described by an object");
    for (auto& [k, v] : entry.items())
      if (k != "dtype" && k != "shape" && k != "data_offsets") fail(where + " has an unknown field '" + k + "'");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) fail(where + " has no dtype string");
    if (!entry.contains("shape") || !entry["shape"].is_array()) fail(where + " has no shape array");
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      fail(where + " has no data_offsets pair");

    TensorInfo t;
    const auto dtype = dtype_from_name(entry["dtype"].get_ref<const std::string&>());
    if (!dtype) fail(where + " has unknown dtype '" + entry["dtype"].get<std::string>() + "'");
    t.dtype = *dtype;

    const auto& shape = entry["shape"];
    if (shape.size() > static_cast<std::size_t>(Shape::max_rank))
      fail(where + " has rank " + std::to_string(shape.size()) + "; mmm supports up to " +
           std::to_string(Shape::max_rank));
    std::uint64_t numel = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) fail(where + " has a shape entry that is not a non-negative integer");
      const auto v = d.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<index>::max()) ||
          (v != 0 && numel > std::numeric_limits<std::uint64_t>::max() / v))
        fail(where + " has a shape whose element count overflows");
      numel *= v;
      t.shape.push_back(static_cast<index>(v));
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      fail(where + " has data_offsets that are not non-negative integers");
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    if (begin > end) fail(where + " has data_offsets that end before they begin");
    if (end > data_.size())
      fail(where + " ends at byte " + std::to_string(end) + " but the data section has only " +
           std::to_string(data_.size()) + " bytes (truncated file?)");
    const std::uint64_t elem = size_of(t.dtype);
    if (numel > std::numeric_limits<std::uint64_t>::max() / elem || numel * elem != end - begin)
      fail(where + " has shape " + t.shape.str() + " of " + std::string(mmm::name(t.dtype)) + " (" +
           std::to_string(numel) + " elements) but " + std::to_string(end - begin) + " bytes of data");
    t.begin = static_cast<std::size_t>(begin);
    t.end = static_cast<std::size_t>(end);
    return t;
  }

  MappedFile file_;
  std::span<const std::byte> data_;
  std::unordered_map<std::string, TensorInfo> index_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: float or int32 data, or raw bytes of any dtype.
struct TensorEntry {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;

  TensorEntry(std::string n, TensorView<const float> v) : name(std::move(n)), dtype(DType::F32), shape(v.shape()), data(v.data()) {}
  TensorEntry(std::string n, TensorView<const std::int32_t> v)
      : name(std::move(n)), dtype(DType::I32), shape(v.shape()), data(v.data()) {}
  TensorEntry(std::string n, const Tensor& t) : TensorEntry(std::move(n), t.view()) {}
  TensorEntry(std::string n, const IntTensor& t) : TensorEntry(std::move(n), t.view()) {}
  TensorEntry(std::string n, DType d, Shape s, const void* p) : name(std::move(n)), dtype(d), shape(s), data(p) {}
};

// Writes tensors (names sorted, data in that order, header padded to 8 bytes).
inline void save_safetensors(const std::string& path, std::vector<TensorEntry> tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  nlohmann::json header = nlohmann::json::object();
  std::size_t offset = 0;
  for (const TensorEntry& t : tensors) {
    if (t.name == "__metadata__" || header.contains(t.name))
      throw Error("save_safetensors: tensor name '" + t.name + "' is reserved or repeated (writing '" + path + "')");
    const std::size_t bytes = static_cast<std::size_t>(t.shape.numel()) * size_of(t.dtype);
    header[t.name] = {{"dtype", std::string(name(t.dtype))},
                      {"shape", std::vector<index>(t.shape.begin(), t.shape.end())},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw IoError("cannot open '" + path + "' for writing");
  const std::uint64_t len = text.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const TensorEntry& t : tensors)
    out.write(static_cast<const char*>(t.data),
              static_cast<std::streamsize>(static_cast<std::size_t>(t.shape.numel()) * size_of(t.dtype)));
  if (!out) throw IoError("cannot write '" + path + "'");
}

}  // namespace mmm
