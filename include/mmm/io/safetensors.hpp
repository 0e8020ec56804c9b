#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header mapping names to {dtype, shape,
// data_offsets}, then the raw little-endian data.
//
// The reader trusts nothing in the file. The header is read strictly, as the reference
// implementation reads it: one JSON object; no duplicate names, no field given twice, no
// unknown fields; integer shapes and offsets; data ranges that tile the data section
// exactly, in order, without holes or overlaps. Any violation is a FormatError naming the
// file and the tensor.
//
// What a file can make the reader do is bounded (docs/bad-input.md lists the limits):
//   - the header is at most 100 MB (the reference's limit), and no byte of it is read
//     before the length has been checked against the file;
//   - the header is parsed as a stream of JSON events against the format's schema, so the
//     first value the format does not allow stops the parse: nesting deeper than the
//     format's three levels (the reference stops at 128) fails at the first extra bracket,
//     and memory stays proportional to the tensors described (about 3× the header at
//     most), never to a JSON document tree;
//   - a NUL byte anywhere in the header is refused (the JSON parser would take it as the
//     end of the text and never read what follows), as are empty tensor names and names
//     with control characters, which would make error messages unreadable or cut short;
//   - every size is computed with overflow checks: a shape's element count must fit in
//     an Index (mmm::Shape) and its byte count must equal its data range.
//
// SafeTensors(path) maps the file (FileAccess::map): the header is validated against the
// file's size when it is opened, but if another process truncates the file while it is
// mapped, reading a tensor past the new end raises SIGBUS, which no check can prevent.
// For files that may change, open with FileAccess::copy: the file is read into memory
// once, and nothing done to it afterwards matters.

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmm/core/checked.hpp"
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

  explicit SafeTensors(const std::string& path, FileAccess access = FileAccess::map) try : file_(path, access) {
    parse();
  } catch (...) {
    rethrow_allocation_failure([&] { return "reading '" + path + "'"; });
  }

  // Parses bytes that the caller keeps alive; `name` is used in error messages.
  static SafeTensors from_bytes(std::span<const std::byte> bytes, std::string name = "<memory>") {
    return guard_allocations([&] { return "reading '" + name + "'"; },
                             [&] { return SafeTensors(MappedFile::borrow(bytes, name)); });
  }

  const std::string& path() const noexcept { return file_.path(); }
  bool contains(std::string_view name) const { return index_.find(std::string(name)) != index_.end(); }
  std::size_t size() const noexcept { return order_.size(); }
  // Names in the order of their data in the file.
  const std::vector<std::string>& names() const noexcept { return order_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

  // Typed metadata, as applications keep their settings in it: the value of `key`, or a
  // FormatError naming the file and the key when it is absent or not of the kind asked.
  const std::string& metadata(const std::string& key) const {
    auto it = metadata_.find(key);
    if (it == metadata_.end()) throw FormatError(path() + ": metadata has no '" + printable(key) + "'");
    return it->second;
  }
  // The whole value as a finite number ("0.5", "1e-6").
  double metadata_number(const std::string& key) const {
    const std::string& text = metadata(key);
    double v = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
      throw FormatError(path() + ": metadata '" + printable(key) + "' is '" + printable(text) + "', not a number");
    return v;
  }
  // The whole value as an integer in [lo, hi].
  std::int64_t metadata_integer(const std::string& key, std::int64_t lo, std::int64_t hi) const {
    const std::string& text = metadata(key);
    std::int64_t v = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (error != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
      throw FormatError(path() + ": metadata '" + printable(key) + "' is '" + printable(text) + "', not an integer in [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }
  // A JSON list of strings (a vocabulary, class names).
  std::vector<std::string> metadata_strings(const std::string& key) const {
    const std::string& text = metadata(key);
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_array() || !std::all_of(j.begin(), j.end(), [](const nlohmann::json& e) { return e.is_string(); }))
      throw FormatError(path() + ": metadata '" + printable(key) + "' is not a JSON list of strings");
    return j.get<std::vector<std::string>>();
  }

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
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
      fail("the header has a NUL byte at offset " + std::to_string(nul) + " (JSON allows none)");
    HeaderReader reader(*this);
    nlohmann::json::sax_parse(text.begin(), text.end(), &reader, nlohmann::json::input_format_t::json,
                              /*strict=*/true, /*ignore_comments=*/false);

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

  // The header as a stream of JSON events (nlohmann's SAX interface), checked against the
  // format's schema as they arrive:
  //   { name: {"dtype": string, "shape": [uint...], "data_offsets": [uint, uint]}, ...,
  //     "__metadata__": {key: string, ...} }
  // Each handler returns true to go on or throws the FormatError; nothing but the entries
  // themselves is kept.
  struct HeaderReader {
    using json = nlohmann::json;
    enum class At { start, top, entry, metadata, shape, offsets, done };
    enum Field : unsigned { dtype = 1, shape = 2, data_offsets = 4 };

    explicit HeaderReader(SafeTensors& f) : file(f) {}

    SafeTensors& file;
    At at = At::start;
    std::string name;      // the tensor being read
    std::string meta_key;  // the metadata key whose value comes next
    unsigned fields = 0;   // those of the current entry seen so far
    unsigned field = 0;    // the one whose value comes next
    std::string dtype_name;
    TensorInfo info;
    std::uint64_t offsets[2] = {};
    int offsets_seen = 0;

    [[noreturn]] void fail(const std::string& what) const { file.fail(what); }
    std::string where() const { return "tensor '" + name + "'"; }
    [[noreturn]] void unexpected(const char* what) const {
      switch (at) {
        case At::start: fail("the header is not a JSON object");
        case At::top: fail("the value of '" + name + "' is " + what + ", not an object describing a tensor");
        case At::entry:
          if (field == dtype) fail(where() + " has no dtype string (found " + what + ")");
          if (field == shape) fail(where() + " has no shape array (found " + what + ")");
          fail(where() + " has no data_offsets pair (found " + what + ")");
        case At::metadata: fail("__metadata__ value for '" + printable(meta_key) + "' is " + what + ", not a string");
        case At::shape: fail(where() + " has a shape entry that is not a non-negative integer (found " + what + ")");
        case At::offsets: fail(where() + " has data_offsets that are not non-negative integers (found " + what + ")");
        case At::done: break;
      }
      fail(std::string("unexpected ") + what + " after the header object");
    }

    bool null() { unexpected("null"); }
    bool boolean(bool) { unexpected("a boolean"); }
    bool number_integer(json::number_integer_t) { unexpected("a negative integer"); }
    bool number_float(json::number_float_t, const json::string_t&) { unexpected("a non-integer number"); }
    bool binary(json::binary_t&) { unexpected("binary data"); }
    bool number_unsigned(json::number_unsigned_t v) {
      if (at == At::shape) {
        if (info.shape.rank() == Shape::max_rank)
          fail(where() + " has rank above " + std::to_string(Shape::max_rank) + ", the most mmm supports");
        if (v > static_cast<std::uint64_t>(std::numeric_limits<index>::max()))
          fail(where() + " has a shape whose element count overflows (dimension " + std::to_string(v) + ")");
        try {
          info.shape.push_back(static_cast<index>(v));
        } catch (const ResourceError&) {
          fail(where() + " has a shape whose element count overflows (" + info.shape.str() + " then " +
               std::to_string(v) + ")");
        }
        return true;
      }
      if (at == At::offsets) {
        if (offsets_seen == 2) fail(where() + " has more than two data_offsets");
        offsets[offsets_seen++] = v;
        return true;
      }
      unexpected("a number");
    }
    bool string(json::string_t& v) {
      if (at == At::metadata) {
        file.metadata_[meta_key] = std::move(v);
        return true;
      }
      if (at == At::entry && field == dtype) {
        dtype_name = std::move(v);
        return true;
      }
      unexpected("a string");
    }
    bool start_object(std::size_t) {
      switch (at) {
        case At::start: at = At::top; return true;
        case At::top:
          if (name == "__metadata__") {
            at = At::metadata;
          } else {
            at = At::entry;
            fields = 0;
            info = TensorInfo{};
            dtype_name.clear();
          }
          return true;
        default: unexpected("an object");
      }
    }
    bool key(json::string_t& k) {
      if (at == At::top) {
        if (k.empty()) fail("the header names a tensor with the empty string");
        for (const char c : k)
          if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
            fail("the tensor name '" + printable(k) + "' has a control character");
        if (file.index_.count(k) || (k == "__metadata__" && seen_metadata)) fail("the header names '" + printable(k) + "' twice");
        seen_metadata = seen_metadata || k == "__metadata__";
        name = std::move(k);
        return true;
      }
      if (at == At::metadata) {
        if (file.metadata_.count(k)) fail("__metadata__ has the key '" + printable(k) + "' twice");
        meta_key = std::move(k);
        return true;
      }
      // At::entry
      field = k == "dtype" ? dtype : k == "shape" ? shape : k == "data_offsets" ? data_offsets : 0u;
      if (field == 0) fail(where() + " has an unknown field '" + printable(k) + "'");
      if (fields & field) fail(where() + " has the field '" + k + "' twice");
      fields |= field;
      return true;
    }
    bool start_array(std::size_t) {
      if (at == At::entry && field == shape) {
        at = At::shape;
        return true;
      }
      if (at == At::entry && field == data_offsets) {
        at = At::offsets;
        offsets_seen = 0;
        return true;
      }
      unexpected("an array");
    }
    bool end_array() {
      if (at == At::offsets && offsets_seen != 2) fail(where() + " has no data_offsets pair (" + std::to_string(offsets_seen) + " values)");
      at = At::entry;
      return true;
    }
    bool end_object() {
      switch (at) {
        case At::metadata: at = At::top; return true;
        case At::entry: finish_entry(); at = At::top; return true;
        default: at = At::done; return true;  // the header object itself
      }
    }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
      fail("the JSON header does not parse at byte " + std::to_string(position) + ": " + e.what());
    }

    void finish_entry() {
      if (!(fields & dtype)) fail(where() + " has no dtype string");
      if (!(fields & shape)) fail(where() + " has no shape array");
      if (!(fields & data_offsets)) fail(where() + " has no data_offsets pair");
      const auto d = dtype_from_name(dtype_name);
      if (!d) fail(where() + " has unknown dtype '" + printable(dtype_name) + "'");
      info.dtype = *d;
      const std::uint64_t begin = offsets[0], end = offsets[1];
      if (begin > end) fail(where() + " has data_offsets that end before they begin");
      if (end > file.data_.size())
        fail(where() + " ends at byte " + std::to_string(end) + " but the data section has only " +
             std::to_string(file.data_.size()) + " bytes (truncated file?)");
      // The element count fits in an Index (Shape guarantees it); its bytes may not fit in
      // 64 bits: [2^31, 2^31] of F32 would wrap to 0 and match an empty range.
      const auto numel = static_cast<std::uint64_t>(info.shape.numel());
      const std::uint64_t elem = size_of(info.dtype);
      if (numel > std::numeric_limits<std::uint64_t>::max() / elem || numel * elem != end - begin)
        fail(where() + " has shape " + info.shape.str() + " of " + std::string(mmm::name(info.dtype)) + " (" +
             std::to_string(numel) + " elements) but " + std::to_string(end - begin) + " bytes of data");
      info.begin = static_cast<std::size_t>(begin);
      info.end = static_cast<std::size_t>(end);
      file.index_.emplace(std::move(name), info);
    }

    bool seen_metadata = false;
  };

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
