#pragma once
// Decoding PNG, JPEG, BMP and GIF (first frame) into an Image, with stb_image (Debian's
// libstb-dev) when the build found it: the mmm::mmm target defines MMM_HAS_STB then. Without
// it the functions here still exist and throw, so that code using them compiles either way;
// raw pixel buffers go through Image::from_pixels.
//
// How stb_image lives in a header-only library. stb's implementation is compiled into every
// translation unit that includes this header, inside mmm::detail::stb and with
// STB_IMAGE_STATIC, so every stb function has internal linkage: two TUs linked together each
// carry their own copy and no symbol clashes, with each other or with a user's own stb build.
// Our config macros are fixed here (not taken from the user) and undefined afterwards, so every
// copy is the same code; the inline functions below, of which the linker keeps one, call
// whichever copy belongs to the TU it kept, which behaves identically. stb's failure reason is
// thread_local in each copy, read right after the failing call in the same function.
//
// JPEGs go through libjpeg-turbo when MMM_HAS_LIBJPEG is defined (and the program links
// libjpeg): mmm::mmm does both when CMake finds libjpeg-turbo (option MMM_USE_LIBJPEG, on by
// default); copying the headers, add -DMMM_HAS_LIBJPEG -ljpeg. It is the library PIL and
// torchvision.io use, with their default settings (islow IDCT, fancy upsampling), so the
// pixels are bit-identical to PIL's — RGB, gray and CMYK/YCCK (Adobe) JPEGs alike, converted
// to 1, 3 or 4 channels with PIL's convert() formulas — and decode ~1.2× faster than stb.
// Without it stb decodes JPEGs too, differing from PIL by up to ~4 levels on 4:2:0 and 4:4:4
// files and up to 9 on 4:2:2 ones (its IDCT and chroma upsampling are not libjpeg's), and
// converting CMYK its own way. A truncated JPEG is an error on both paths (PIL: "image file
// is truncated").
//
// What a file can make us do is bounded before decoding: the header is parsed first (stbi_info),
// and sizes of zero or above DecodeOptions::max_pixels are refused before stb allocates a byte;
// during the decode, stb's allocations are capped by what the declared size needs (zlib
// bombs). stb 2.27 has bugs that fuzzing finds, worked around before stb sees the data: JPEG
// marker segments are validated (a Huffman table of more than 256 codes overflows stb's
// arrays), a JPEG's scans are walked (a scan whose data ends inside a block makes stb shift
// by 32: image/jpeg_scan.hpp), empty PNG IDAT chunks are dropped, and since stb reads past
// a truncated buffer as zeros, a BMP's pixel array is checked against the bytes really present.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/preprocess/image/image.hpp"
#include "mmm/preprocess/image/jpeg_scan.hpp"

#if defined(MMM_HAS_STB)
// The C headers stb includes, at global scope first: their include guards then keep them
// out of the namespace below.
#include <cassert>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(STBI_INCLUDE_STB_IMAGE_H)
// The user included stb_image.h before us: let it be included again, in our namespace.
#define MMM_STB_USER_INCLUDED_BEFORE 1
#undef STBI_INCLUDE_STB_IMAGE_H
#endif
namespace mmm::detail {
// stb's allocations during one decode are capped at a budget that follows from the image's
// declared size: a small PNG whose zlib stream inflates to gigabytes (stb grows its buffer
// without limit) fails as "outofmem" instead of taking the machine's memory.
inline thread_local std::size_t stb_allocation_budget = SIZE_MAX;
inline void* stb_malloc(std::size_t n) { return n > stb_allocation_budget ? nullptr : std::malloc(n); }
inline void* stb_realloc(void* p, std::size_t n) { return n > stb_allocation_budget ? nullptr : std::realloc(p, n); }
}  // namespace mmm::detail
#pragma push_macro("STB_IMAGE_IMPLEMENTATION")
#undef STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ASSERT(x) assert(x)
#define STBI_MALLOC(n) ::mmm::detail::stb_malloc(n)
#define STBI_REALLOC(p, n) ::mmm::detail::stb_realloc(p, n)
#define STBI_FREE(p) std::free(p)
namespace mmm::detail::stb {
#if __has_include(<stb_image.h>)
#include <stb_image.h>
#else
#include <stb/stb_image.h>  // Debian's libstb-dev, without its directory on the include path
#endif
}  // namespace mmm::detail::stb
#undef STB_IMAGE_STATIC
#undef STBI_NO_STDIO
#undef STBI_NO_LINEAR
#undef STBI_NO_HDR
#undef STBI_ONLY_PNG
#undef STBI_ONLY_JPEG
#undef STBI_ONLY_BMP
#undef STBI_ONLY_GIF
#undef STBI_ASSERT
#undef STBI_MALLOC
#undef STBI_REALLOC
#undef STBI_FREE
#undef STBI_REALLOC_SIZED
#undef STBIDEF
#pragma pop_macro("STB_IMAGE_IMPLEMENTATION")
// A later #include <stb_image.h> by the user declares stb at global scope as usual.
#if !defined(MMM_STB_USER_INCLUDED_BEFORE)
#undef STBI_INCLUDE_STB_IMAGE_H
#endif
#undef MMM_STB_USER_INCLUDED_BEFORE
#endif  // MMM_HAS_STB

#if defined(MMM_HAS_LIBJPEG)
#include <csetjmp>
#include <cstdio>  // jpeglib.h uses FILE without including it
#include <jpeglib.h>
#include <jerror.h>
#endif

namespace mmm {

// True when this build can decode files (stb_image was found).
#if defined(MMM_HAS_STB)
inline constexpr bool has_image_decoder = true;
#else
inline constexpr bool has_image_decoder = false;
#endif
// True when JPEGs are decoded by libjpeg-turbo (bit-exact with PIL).
#if defined(MMM_HAS_LIBJPEG)
inline constexpr bool has_libjpeg = true;
#else
inline constexpr bool has_libjpeg = false;
#endif

struct DecodeOptions {
  // Channels of the result: 0 keeps the file's own (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA);
  // 1, 3 or 4 converts (3 is PIL's convert("RGB"): gray repeated, alpha dropped).
  int channels = 3;
  // Images with more pixels are refused before decoding (decompression bombs). PIL's
  // default limit, above which it warns, is the same 89,478,485.
  index max_pixels = 89'478'485;
};

// What the header says, without decoding the pixels.
struct ImageInfo {
  index height = 0, width = 0;
  int channels = 0;  // as stored in the file
};

namespace detail {

inline void check_decode_options(const DecodeOptions& options, const std::string& what) {
  if (options.channels < 0 || options.channels > 4 || options.channels == 2)
    throw RangeError(what + ": DecodeOptions::channels must be 0 (as stored), 1, 3 or 4, got " +
                     std::to_string(options.channels));
  if (options.max_pixels <= 0)
    throw RangeError(what + ": DecodeOptions::max_pixels must be positive, got " + std::to_string(options.max_pixels));
}

inline int checked_length(std::span<const std::uint8_t> bytes, const std::string& what) {
  if (bytes.empty()) throw FormatError(what + ": cannot decode an image from 0 bytes");
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX))
    throw FormatError(what + ": image data of " + std::to_string(bytes.size()) + " bytes is larger than 2 GiB");
  return static_cast<int>(bytes.size());
}

inline std::uint32_t le32_at(std::span<const std::uint8_t> b, std::size_t at) {
  return std::uint32_t(b[at]) | (std::uint32_t(b[at + 1]) << 8) | (std::uint32_t(b[at + 2]) << 16) |
         (std::uint32_t(b[at + 3]) << 24);
}

inline std::uint32_t be32_at(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t(b[at]) << 24) | (std::uint32_t(b[at + 1]) << 16) | (std::uint32_t(b[at + 2]) << 8) |
         std::uint32_t(b[at + 3]);
}

// stb fills a truncated BMP pixel array with zeros; PIL calls that truncated. For the
// uncompressed layouts (the only ones stb reads) the array's size follows from the header.
inline void check_bmp_length(std::span<const std::uint8_t> b, const ImageInfo& info, const std::string& what) {
  if (b.size() < 30 || b[0] != 'B' || b[1] != 'M') return;
  const std::uint32_t offset = le32_at(b, 10), header_size = le32_at(b, 14);
  int bits = 0;
  if (header_size == 12) {
    bits = b[24] | (b[25] << 8);  // OS/2 BITMAPCOREHEADER
  } else {
    bits = b[28] | (b[29] << 8);
  }
  if (bits <= 0 || bits > 32) return;  // stb reports what it makes of that
  const auto row = (static_cast<std::uint64_t>(info.width) * static_cast<std::uint64_t>(bits) + 31) / 32 * 4;
  const std::uint64_t needed = offset + row * static_cast<std::uint64_t>(info.height);
  if (needed > b.size())
    throw FormatError(what + ": truncated BMP: its " + std::to_string(info.height) + "×" + std::to_string(info.width) +
                      " pixels at " + std::to_string(bits) + " bits need " + std::to_string(needed) +
                      " bytes, the data has " + std::to_string(b.size()));
}

// stb_image 2.27 (Debian 12) trusts some JPEG fields: a Huffman table whose code counts add
// up past 256 makes stbi__build_huffman write past its arrays, and a scan that uses a table
// never defined decodes with uninitialised tables (reads out of bounds). Walk the marker
// segments first and refuse what the JPEG standard does not allow, before stb sees it.
// `require_tables` (the stb path) also demands that every table a scan or the frame uses has
// been defined; libjpeg falls back to the standard tables (Motion-JPEG), as PIL does.
// Where a JPEG's segments start (after SOI), or 0 when the data is not JPEG. stb takes any
// run of 0xFF fill bytes before the SOI marker (0xD8) as JPEG.
inline std::size_t jpeg_start(std::span<const std::uint8_t> b) {
  std::size_t i = 0;
  while (i < b.size() && b[i] == 0xFF) ++i;
  return (i == 0 || i >= b.size() || b[i] != 0xD8) ? 0 : i + 1;
}
inline bool is_jpeg(std::span<const std::uint8_t> b) { return jpeg_start(b) != 0; }

inline void check_jpeg_segments(std::span<const std::uint8_t> b, const std::string& what, bool require_tables = true) {
  std::size_t i = jpeg_start(b);
  if (i == 0) return;  // not JPEG: other formats' checks apply
  const auto bad = [&](const std::string& why) { throw FormatError(what + ": corrupt JPEG: " + why); };
  bool huffman[2][4] = {}, quant[4] = {}, progressive = false;
  int frame_quant[4] = {}, frame_components = 0;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) {  // entropy-coded data of a scan: skip to the next real marker
      ++i;
      continue;
    }
    const std::uint8_t m = b[i + 1];
    if (m == 0xFF || m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // fill, stuffing, TEM, RST
      ++i;
      continue;
    }
    if (m == 0xD9) return;  // EOI
    const std::size_t length = (std::size_t(b[i + 2]) << 8) | b[i + 3];
    if (length < 2) bad("a segment length below 2");
    const std::size_t begin = i + 4, end = i + 2 + length;
    if (end > b.size()) bad("a segment of " + std::to_string(length) + " bytes runs past the end of the data");
    if (m == 0xC4) {  // DHT: one or more tables
      std::size_t p = begin;
      while (p < end) {
        if (p + 17 > end) bad("a Huffman table header runs past its segment");
        if ((b[p] >> 4) > 1 || (b[p] & 15) > 3) bad("a Huffman table with class/id " + std::to_string(b[p]));
        std::size_t count = 0;
        for (int k = 1; k <= 16; ++k) count += b[p + static_cast<std::size_t>(k)];
        if (count > 256) bad("a Huffman table with " + std::to_string(count) + " codes (at most 256)");
        huffman[b[p] >> 4][b[p] & 15] = true;
        p += 17 + count;
        if (p > end) bad("a Huffman table's values run past its segment");
      }
    } else if (m == 0xDB) {  // DQT
      std::size_t p = begin;
      while (p < end) {
        if ((b[p] >> 4) > 1 || (b[p] & 15) > 3) bad("a quantization table with precision/id " + std::to_string(b[p]));
        quant[b[p] & 15] = true;
        p += 1 + ((b[p] >> 4) ? 128 : 64);
        if (p > end) bad("a quantization table runs past its segment");
      }
    } else if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {  // SOFn
      if (length < 8) bad("a frame header shorter than 8 bytes");
      const std::size_t components = b[begin + 5];
      if (components < 1 || components > 4 || length != 8 + 3 * components)
        bad("a frame header with " + std::to_string(components) + " components in " + std::to_string(length) + " bytes");
      progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE;
      frame_components = static_cast<int>(components);
      for (std::size_t k = 0; k < components; ++k) {
        frame_quant[k] = b[begin + 6 + 3 * k + 2];
        if (frame_quant[k] > 3) bad("a frame component with quantization table " + std::to_string(frame_quant[k]));
      }
    } else if (m == 0xDA) {  // SOS
      if (length < 6) bad("a scan header shorter than 6 bytes");
      const std::size_t components = b[begin];
      if (components < 1 || components > 4 || length != 6 + 2 * components)
        bad("a scan header with " + std::to_string(components) + " components in " + std::to_string(length) + " bytes");
      if (require_tables) {
        const std::size_t spectral_start = b[begin + 1 + 2 * components];
        const int approximation_high = b[begin + 3 + 2 * components] >> 4;
        // Baseline scans use both tables; progressive DC first scans the DC table, AC scans
        // the AC table, DC refinement none.
        const bool uses_dc = !progressive || (spectral_start == 0 && approximation_high == 0);
        const bool uses_ac = !progressive || spectral_start > 0;
        for (std::size_t k = 0; k < components; ++k) {
          const int dc = b[begin + 2 + 2 * k] >> 4, ac = b[begin + 2 + 2 * k] & 15;
          if ((uses_dc && (dc > 3 || !huffman[0][dc])) || (uses_ac && (ac > 3 || !huffman[1][ac])))
            bad("a scan uses a Huffman table that was not defined");
        }
        for (int k = 0; k < frame_components; ++k)
          if (!quant[frame_quant[k]]) bad("the frame uses a quantization table that was not defined");
      }
    }
    i = end;
  }
}

// stb 2.27 memcpy's from a null pointer for an empty IDAT chunk seen before any pixel data
// (undefined, though harmless). Such chunks carry nothing: a copy without them decodes to
// the same image. Returns true and fills `copy` only when the PNG has one.
inline bool drop_empty_png_idat(std::span<const std::uint8_t> b, std::vector<std::uint8_t>& copy) {
  static constexpr std::uint8_t signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() < 8 || std::memcmp(b.data(), signature, 8) != 0) return false;
  const auto is_empty_idat = [&](std::size_t at) {
    return be32_at(b, at) == 0 && std::memcmp(b.data() + at + 4, "IDAT", 4) == 0;
  };
  bool found = false;
  // A chunk's length and type (8 bytes) say what it is, even when its CRC is cut off.
  for (std::size_t at = 8; at + 8 <= b.size(); at += 12 + std::size_t{be32_at(b, at)}) {
    if (is_empty_idat(at)) found = true;
    if (be32_at(b, at) > b.size()) break;
  }
  if (!found) return false;
  copy.assign(b.begin(), b.begin() + 8);
  std::size_t at = 8;
  for (; at + 8 <= b.size(); at += 12 + std::size_t{be32_at(b, at)}) {
    const std::size_t end = std::min<std::size_t>(b.size(), at + 12 + std::size_t{be32_at(b, at)});
    if (!is_empty_idat(at)) copy.insert(copy.end(), b.begin() + static_cast<std::ptrdiff_t>(at),
                                        b.begin() + static_cast<std::ptrdiff_t>(end));
    if (end == b.size()) return true;
  }
  copy.insert(copy.end(), b.begin() + static_cast<std::ptrdiff_t>(std::min(at, b.size())), b.end());
  return true;
}

inline std::string stb_reason() {
#if defined(MMM_HAS_STB)
  const char* r = stb::stbi_failure_reason();
  return r ? r : "unknown failure";
#else
  return {};
#endif
}

// PIL's L from RGB (Convert.c): ITU-R 601-2 weights in 16-bit fixed point.
inline std::uint8_t pil_luma(const std::uint8_t* rgb) {
  return static_cast<std::uint8_t>((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

[[noreturn]] inline void no_decoder(const std::string& what) {
  throw IoError(what + ": this build of mmm has no image decoder (stb_image was not found; install libstb-dev "
                       "and reconfigure), decode the image yourself and use Image::from_pixels");
}

#if defined(MMM_HAS_LIBJPEG)
namespace libjpeg {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

inline void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are ignored (as PIL does: extraneous bytes, bad restart markers), except running
// out of data, which PIL refuses as a truncated image.
inline void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error(cinfo);
}

enum class Result { decoded, not_handled, failed, too_large };

// PIL's conversion (Convert.c) of RGB from CMYK as PIL reads JPEGs (Adobe polarity: the
// stored samples are inverted).
inline void cmyk_to_rgb(const std::uint8_t* adobe_cmyk, std::uint8_t* rgb) {
  const unsigned nk = adobe_cmyk[3];  // 255 - k, k = 255 - stored
  for (int i = 0; i < 3; ++i) {
    const unsigned c = 255u - adobe_cmyk[i], t = c * nk + 128u;
    const int v = int(nk) - int(((t >> 8) + t) >> 8);
    rgb[i] = static_cast<std::uint8_t>(v < 0 ? 0 : v);
  }
}

// No object with a destructor lives in this function while libjpeg may longjmp out of a
// call: only PODs, and `out` is resized before any longjmp-able call touches its pixels;
// the row buffer for conversions comes from libjpeg's own pool.
inline Result decode(std::span<const std::uint8_t> bytes, Image& out, int channels, index max_pixels, ErrorManager& err,
                     index& height, index& width) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.message[0] = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return Result::failed;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  height = static_cast<index>(cinfo.image_height), width = static_cast<index>(cinfo.image_width);
  const bool gray = cinfo.jpeg_color_space == JCS_GRAYSCALE && cinfo.num_components == 1;
  const bool color = (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) && cinfo.num_components == 3;
  const bool cmyk = (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) && cinfo.num_components == 4;
  Result result = Result::decoded;
  if (!gray && !color && !cmyk) {
    result = Result::not_handled;
  } else if (height <= 0 || width <= 0 || height > image_max_side || width > image_max_side ||
             height * width > max_pixels) {
    result = Result::too_large;
  }
  if (result != Result::decoded) {
    jpeg_destroy_decompress(&cinfo);
    return result;
  }
  // What libjpeg writes, and what a row then becomes: gray stays gray (or is replicated by
  // libjpeg); colour is decoded as RGB, CMYK as CMYK, then converted as PIL converts.
  const int c = channels ? channels : (gray ? 1 : 3);
  const bool direct = (gray && c == 1) || (!cmyk && c == 3);
  cinfo.out_color_space = cmyk ? JCS_CMYK : (gray && c == 1) ? JCS_GRAYSCALE : JCS_RGB;
  bool reshaped = true;
  try {
    out.reshape(height, width, c);
  } catch (...) {
    reshaped = false;
  }
  if (!reshaped) {
    jpeg_destroy_decompress(&cinfo);
    return Result::too_large;
  }
  jpeg_start_decompress(&cinfo);
  JSAMPARRAY row_buffer =
      direct ? nullptr
             : (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo), JPOOL_IMAGE,
                                          static_cast<JDIMENSION>(width * cinfo.output_components), 1);
  while (cinfo.output_scanline < cinfo.output_height) {
    const index y = static_cast<index>(cinfo.output_scanline);
    JSAMPROW row = direct ? out.row(y) : row_buffer[0];
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (direct) continue;
    std::uint8_t* d = out.row(y);
    for (index x = 0; x < width; ++x) {
      std::uint8_t rgb[3];
      const std::uint8_t* src = row + x * cinfo.output_components;
      if (cmyk) cmyk_to_rgb(src, rgb);
      else rgb[0] = src[0], rgb[1] = src[1], rgb[2] = src[2];
      if (c == 1) {
        d[x] = pil_luma(rgb);
      } else {
        std::uint8_t* p = d + x * c;
        p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2];
        if (c == 4) p[3] = 255;
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return Result::decoded;
}

}  // namespace libjpeg

// true when the JPEG was decoded; false when stb should take it (a colour space libjpeg does
// not convert, such as two-component files).
inline bool decode_with_libjpeg(std::span<const std::uint8_t> bytes, Image& out, const DecodeOptions& options,
                                const std::string& what) {
  libjpeg::ErrorManager err;
  index h = 0, w = 0;
  switch (libjpeg::decode(bytes, out, options.channels, options.max_pixels, err, h, w)) {
    case libjpeg::Result::decoded: return true;
    case libjpeg::Result::not_handled: return false;
    case libjpeg::Result::too_large:
      throw RangeError(what + ": the image is " + std::to_string(h) + "×" + std::to_string(w) +
                       " pixels, more than DecodeOptions::max_pixels = " + std::to_string(options.max_pixels) +
                       " (raise it if the image is genuine)");
    case libjpeg::Result::failed: break;
  }
  throw FormatError(what + ": cannot decode the JPEG image: " + std::string(err.message));
}
#endif  // MMM_HAS_LIBJPEG

}  // namespace detail

// The header's size and channels. FormatError when the data is not an image stb reads.
inline ImageInfo image_info(std::span<const std::uint8_t> bytes, const std::string& what = "image data") {
  const int length = detail::checked_length(bytes, what);
  // stb's own header check refuses PNGs above 2^30 decoded bytes as "unknown image type";
  // read the size ourselves so that such a file gets the max_pixels error it deserves.
  static constexpr std::uint8_t png_signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= 24 && std::memcmp(bytes.data(), png_signature, 8) == 0 &&
      std::memcmp(bytes.data() + 12, "IHDR", 4) == 0) {
    const std::uint64_t w = detail::be32_at(bytes, 16), h = detail::be32_at(bytes, 20);
    if (w * h > (std::uint64_t{1} << 28))
      return {static_cast<index>(std::min<std::uint64_t>(h, INT32_MAX)),
              static_cast<index>(std::min<std::uint64_t>(w, INT32_MAX)), 0};
  }
  // stb's header parse already builds the Huffman tables: validate before it.
  detail::check_jpeg_segments(bytes, what);
#if defined(MMM_HAS_STB)
  int w = 0, h = 0, c = 0;
  if (!detail::stb::stbi_info_from_memory(bytes.data(), length, &w, &h, &c))
    throw FormatError(what + ": not a PNG, JPEG, BMP or GIF image mmm can read (" + detail::stb_reason() + ")");
  return {h, w, c};
#else
  (void)length;
  detail::no_decoder(what);
#endif
}

// Decodes into `out`, reusing its storage. `what` names the source in error messages.
inline void decode_image(std::span<const std::uint8_t> bytes, Image& out, const DecodeOptions& options = {},
                         const std::string& what = "image data") {
  detail::check_decode_options(options, what);
#if defined(MMM_HAS_LIBJPEG)
  if (detail::is_jpeg(bytes)) {
    detail::checked_length(bytes, what);
    detail::check_jpeg_segments(bytes, what, /*require_tables=*/false);
    if (detail::decode_with_libjpeg(bytes, out, options, what)) return;
  }
#endif
  const ImageInfo info = image_info(bytes, what);
  if (info.width <= 0 || info.height <= 0)
    throw FormatError(what + ": the image header says " + std::to_string(info.height) + "×" +
                      std::to_string(info.width) + " pixels; an image needs at least one");
  if (info.width > image_max_side || info.height > image_max_side || info.width * info.height > options.max_pixels)
    throw RangeError(what + ": the image is " + std::to_string(info.height) + "×" + std::to_string(info.width) +
                     " pixels, more than DecodeOptions::max_pixels = " + std::to_string(options.max_pixels) +
                     " (raise it if the image is genuine)");
  detail::check_bmp_length(bytes, info, what);
#if defined(MMM_HAS_STB)
  // stb 2.27 shifts out of range on a scan whose data ends inside a block (and overflows
  // ints on absurd DC values): walk the scans first (image/jpeg_scan.hpp).
  if (detail::is_jpeg(bytes)) detail::check_jpeg_scans(bytes, detail::jpeg_start(bytes), what);
  int w = 0, h = 0, c = 0;
  // The largest buffer stb needs is a few bytes per pixel (16-bit PNG rows, GIF frame
  // history, JPEG planes); 16 per pixel and 1 MiB of slack is ample.
  struct Budget {
    explicit Budget(std::size_t bytes) { detail::stb_allocation_budget = bytes; }
    ~Budget() { detail::stb_allocation_budget = SIZE_MAX; }
  } budget(static_cast<std::size_t>(info.width * info.height) * 16 + (std::size_t{1} << 20));
  // stb's SIMD YCbCr→RGB kernel only writes 4 bytes per pixel; asking for RGBA and dropping
  // the alpha here is ~3× faster for RGB JPEGs than its scalar 3-byte path. Gray from a JPEG
  // is made here from that RGB with PIL's weights (stb would return the Y plane).
  const int requested = (options.channels == 3 || options.channels == 1) && detail::is_jpeg(bytes) ? 4 : options.channels;
  std::vector<std::uint8_t> cleaned;
  const std::span<const std::uint8_t> data = detail::drop_empty_png_idat(bytes, cleaned) ? cleaned : bytes;
  std::uint8_t* pixels = detail::stb::stbi_load_from_memory(data.data(), static_cast<int>(data.size()), &w, &h, &c,
                                                             requested);
  if (!pixels) throw FormatError(what + ": cannot decode the image: " + detail::stb_reason());
  struct Free {
    std::uint8_t* p;
    ~Free() { detail::stb::stbi_image_free(p); }
  } owner{pixels};
  const int channels = options.channels ? options.channels : c;
  if (w != info.width || h != info.height)
    throw FormatError(what + ": the image decoded to " + std::to_string(h) + "×" + std::to_string(w) +
                      " pixels but its header says " + std::to_string(info.height) + "×" + std::to_string(info.width));
  out.reshape(h, w, channels);
  if ((requested ? requested : c) == channels) {
    std::memcpy(out.data(), pixels, static_cast<std::size_t>(out.bytes()));
  } else {
    const index n = out.height() * out.width();
    std::uint8_t* d = out.data();
    if (channels == 1)
      for (index i = 0; i < n; ++i) d[i] = detail::pil_luma(pixels + 4 * i);
    else
      for (index i = 0; i < n; ++i) d[3 * i] = pixels[4 * i], d[3 * i + 1] = pixels[4 * i + 1], d[3 * i + 2] = pixels[4 * i + 2];
  }
#else
  (void)out;
  detail::no_decoder(what);
#endif
}

inline Image decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options = {},
                          const std::string& what = "image data") {
  Image out;
  decode_image(bytes, out, options, what);
  return out;
}

// Reads and decodes a file; errors name the path.
inline void read_image(const std::string& path, Image& out, const DecodeOptions& options = {}) {
  std::error_code error;  // a directory opens as a stream whose size reads as 2^63 - 1
  if (std::filesystem::is_directory(path, error)) throw IoError(path + ": a directory, not an image file");
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) throw IoError(path + ": cannot open the image file");
  const std::streamoff size = file.tellg();
  if (size < 0) throw IoError(path + ": cannot read the image file's size");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  file.seekg(0);
  if (size > 0 && !file.read(reinterpret_cast<char*>(bytes.data()), size))
    throw IoError(path + ": cannot read the image file");
  decode_image(bytes, out, options, path);
}

inline Image read_image(const std::string& path, const DecodeOptions& options = {}) {
  Image out;
  read_image(path, out, options);
  return out;
}

}  // namespace mmm
