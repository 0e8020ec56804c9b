#pragma once
// Writing an Image as a PNG file, with no library: 8-bit gray, gray+alpha, RGB or RGBA
// (the Image's 1 to 4 channels; PNG colour types 0, 4, 2, 6), not interlaced, every row
// with filter 0 (none), the zlib stream (RFC 1950) made of stored deflate blocks (RFC 1951,
// BTYPE 00: no compression, so a 64×64 RGB drawing is ~12 KB), CRC-32 on every chunk and
// Adler-32 on the stream. Any PNG reader reads it (tests/unit/png_encode.cpp checks mmm's
// decoder and PIL).
//
//   encode_png(image, bytes)    the file's bytes into `bytes` (reused: no allocation once
//                               it has held a PNG at least as large)
//   write_png(path, image)      the same into a file
//
// Refused, as typed errors: an image without pixels (ShapeError: PNG has no empty image),
// one whose pixel stream would not fit one IDAT chunk (2³¹ − 1 bytes) or a smaller limit the
// caller sets (ResourceError), and a
// path that cannot be written (IoError naming the path and the reason).

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/preprocess/image/image.hpp"

namespace mmm {

namespace detail::png {

// CRC-32 (ISO 3309, polynomial 0xEDB88320 reflected), as PNG's chunks use it.
inline constexpr std::array<std::uint32_t, 256> crc_table = [] {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}();

inline std::uint32_t crc32_update(std::uint32_t crc, const std::uint8_t* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) crc = crc_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return crc;
}

// Adler-32 (RFC 1950): two sums modulo 65521; 5552 bytes is the most that cannot overflow
// 32 bits before the reduction.
struct Adler32 {
  std::uint32_t a = 1, b = 0;
  void update(const std::uint8_t* p, std::size_t n) noexcept {
    while (n > 0) {
      const std::size_t run = n < 5552 ? n : 5552;
      for (std::size_t i = 0; i < run; ++i) {
        a += p[i];
        b += a;
      }
      a %= 65521u;
      b %= 65521u;
      p += run;
      n -= run;
    }
  }
  std::uint32_t value() const noexcept { return (b << 16) | a; }
};

inline void put32(std::uint8_t* at, std::uint32_t v) noexcept {
  at[0] = static_cast<std::uint8_t>(v >> 24);
  at[1] = static_cast<std::uint8_t>(v >> 16);
  at[2] = static_cast<std::uint8_t>(v >> 8);
  at[3] = static_cast<std::uint8_t>(v);
}

inline constexpr std::size_t stored_block = 65535;  // the most a stored deflate block holds
inline constexpr std::uint64_t max_chunk = 0x7FFFFFFFu;  // PNG's largest chunk length

inline std::uint8_t colour_type(int channels) {
  switch (channels) {
    case 1: return 0;  // gray
    case 2: return 4;  // gray + alpha
    case 3: return 2;  // RGB
    default: return 6;  // RGBA
  }
}

}  // namespace detail::png

// The PNG file of `image` into `out` (resized; its capacity is kept for the next call).
// `max_stream`: the largest pixel stream (zlib bytes) accepted, at most one chunk's.
inline void encode_png(const Image& image, std::vector<std::uint8_t>& out, const std::string& what = "image",
                       std::uint64_t max_stream = detail::png::max_chunk) {
  namespace P = detail::png;
  if (image.empty())
    throw ShapeError("encode_png: " + what + " is " + std::to_string(image.height()) + "×" + std::to_string(image.width()) +
                     "; a PNG needs at least one pixel");
  const std::uint64_t row = static_cast<std::uint64_t>(image.row_bytes()) + 1;  // the filter byte first
  const std::uint64_t raw = row * static_cast<std::uint64_t>(image.height());
  const std::uint64_t blocks = (raw + P::stored_block - 1) / P::stored_block;
  const std::uint64_t stream = 2 + raw + 5 * blocks + 4;  // zlib header, blocks with their headers, Adler-32
  const std::uint64_t limit = max_stream < P::max_chunk ? max_stream : P::max_chunk;
  if (stream > limit)
    throw ResourceError("encode_png: " + what + " (" + image.shape_str() + ") needs a " + std::to_string(stream) +
                        "-byte pixel stream, more than the " + std::to_string(limit) + " allowed" +
                        (limit == P::max_chunk ? " (one PNG chunk's most)" : ""));
  constexpr std::size_t signature = 8, ihdr = 12 + 13, iend = 12;
  out.resize(signature + ihdr + 12 + static_cast<std::size_t>(stream) + iend);
  std::uint8_t* p = out.data();

  static constexpr std::uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::memcpy(p, magic, 8);
  p += 8;
  // A chunk: length, type, data (written by `fill` at the pointer it is given), CRC of type+data.
  auto chunk = [&](const char* type, std::size_t length, auto&& fill) {
    P::put32(p, static_cast<std::uint32_t>(length));
    std::memcpy(p + 4, type, 4);
    fill(p + 8);
    P::put32(p + 8 + length, P::crc32_update(0xFFFFFFFFu, p + 4, length + 4) ^ 0xFFFFFFFFu);
    p += 12 + length;
  };
  chunk("IHDR", 13, [&](std::uint8_t* d) {
    P::put32(d, static_cast<std::uint32_t>(image.width()));
    P::put32(d + 4, static_cast<std::uint32_t>(image.height()));
    d[8] = 8;                                  // bits per sample
    d[9] = P::colour_type(image.channels());
    d[10] = d[11] = d[12] = 0;                 // deflate, adaptive filtering, no interlace
  });
  chunk("IDAT", static_cast<std::size_t>(stream), [&](std::uint8_t* d) {
    *d++ = 0x78;  // CM 8 (deflate), CINFO 7 (32 KB window)
    *d++ = 0x01;  // FLEVEL 0, no dictionary; 0x7801 is a multiple of 31 (FCHECK)
    P::Adler32 adler;
    std::size_t left_in_block = 0, remaining = static_cast<std::size_t>(raw);
    // The filtered rows as one byte stream cut into stored blocks; a block may end mid-row.
    auto emit = [&](const std::uint8_t* bytes, std::size_t n) {
      adler.update(bytes, n);
      while (n > 0) {
        if (left_in_block == 0) {
          left_in_block = remaining < P::stored_block ? remaining : P::stored_block;
          const auto len = static_cast<std::uint16_t>(left_in_block);
          d[0] = remaining == left_in_block ? 1 : 0;  // BFINAL on the last block, BTYPE 00
          d[1] = static_cast<std::uint8_t>(len), d[2] = static_cast<std::uint8_t>(len >> 8);
          d[3] = static_cast<std::uint8_t>(~len), d[4] = static_cast<std::uint8_t>(~len >> 8);
          d += 5;
        }
        const std::size_t take = n < left_in_block ? n : left_in_block;
        std::memcpy(d, bytes, take);
        d += take, bytes += take, n -= take;
        left_in_block -= take, remaining -= take;
      }
    };
    static constexpr std::uint8_t no_filter = 0;
    for (index y = 0; y < image.height(); ++y) {
      emit(&no_filter, 1);
      emit(image.row(y), static_cast<std::size_t>(image.row_bytes()));
    }
    P::put32(d, adler.value());
  });
  chunk("IEND", 0, [](std::uint8_t*) {});
}

inline std::vector<std::uint8_t> encode_png(const Image& image, const std::string& what = "image") {
  std::vector<std::uint8_t> out;
  encode_png(image, out, what);
  return out;
}

// `image` as a PNG file at `path` (replaced if it exists). `buffer`: reused for the bytes.
inline void write_png(const std::string& path, const Image& image, std::vector<std::uint8_t>& buffer) {
  encode_png(image, buffer, "the image for '" + path + "'");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw IoError("write_png: cannot open '" + path + "' for writing: " + std::strerror(errno));
  const bool written = std::fwrite(buffer.data(), 1, buffer.size(), f) == buffer.size();
  const int saved = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed)
    throw IoError("write_png: writing " + std::to_string(buffer.size()) + " bytes to '" + path +
                  "' failed: " + std::strerror(written ? errno : saved));
}

inline void write_png(const std::string& path, const Image& image) {
  std::vector<std::uint8_t> buffer;
  write_png(path, image, buffer);
}

}  // namespace mmm
