#pragma once
// A minimal reader of the protocol-buffers wire format: enough to walk a message's fields
// (varints, fixed32/64, length-delimited) without generated code or libprotobuf. Every
// read is bounds-checked; a malformed buffer is a FormatError naming the source and the
// message being read.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "mmm/core/errors.hpp"

namespace mmm::detail {

class ProtoReader {
 public:
  enum WireType : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

  ProtoReader(std::string_view bytes, std::string where) : data_(bytes), where_(std::move(where)) {}

  bool done() const noexcept { return pos_ >= data_.size(); }

  // Reads the next field's key; returns false at the end of the message.
  bool next() {
    if (done()) return false;
    const std::uint64_t key = read_varint();
    field_ = static_cast<std::uint32_t>(key >> 3);
    wire_ = static_cast<std::uint32_t>(key & 7);
    if (field_ == 0) fail("field number 0");
    return true;
  }
  std::uint32_t field() const noexcept { return field_; }
  std::uint32_t wire_type() const noexcept { return wire_; }

  std::uint64_t read_varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) fail("truncated varint");
      const auto b = static_cast<unsigned char>(data_[pos_++]);
      v |= std::uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }

  // Typed readers check the wire type first.
  std::uint64_t uint_field() {
    expect(varint);
    return read_varint();
  }
  std::int32_t int32_field() { return static_cast<std::int32_t>(uint_field()); }
  bool bool_field() { return uint_field() != 0; }
  float float_field() {
    expect(fixed32);
    if (data_.size() - pos_ < 4) fail("truncated fixed32");
    float f;
    std::memcpy(&f, data_.data() + pos_, 4);
    pos_ += 4;
    return f;
  }
  std::string_view bytes_field() {
    expect(length_delimited);
    const std::uint64_t n = read_varint();
    if (n > data_.size() - pos_)
      fail("length-delimited field of " + std::to_string(n) + " bytes runs past the end");
    const std::string_view s = data_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

  void skip() {
    switch (wire_) {
      case varint: read_varint(); break;
      case fixed64:
        if (data_.size() - pos_ < 8) fail("truncated fixed64");
        pos_ += 8;
        break;
      case length_delimited: bytes_field(); break;
      case fixed32:
        if (data_.size() - pos_ < 4) fail("truncated fixed32");
        pos_ += 4;
        break;
      default: fail("unsupported wire type " + std::to_string(wire_));
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(where_ + ": malformed protobuf at byte " + std::to_string(pos_) + ": " + what);
  }

 private:
  void expect(WireType w) const {
    if (wire_ != w)
      fail("field " + std::to_string(field_) + " has wire type " + std::to_string(wire_) + ", expected " +
           std::to_string(static_cast<std::uint32_t>(w)));
  }

  std::string_view data_;
  std::string where_;
  std::size_t pos_ = 0;
  std::uint32_t field_ = 0, wire_ = 0;
};

}  // namespace mmm::detail
