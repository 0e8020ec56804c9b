#pragma once
// Audio samples and the WAV (RIFF/WAVE) format.
//
// `Audio` holds float samples planar, shape [channels, frames] — torchaudio.load's layout —
// and the sample rate. `read_wav` decodes integer PCM of 8/16/24/32 bits and IEEE float of
// 32/64 bits, plain or WAVE_FORMAT_EXTENSIBLE, any channel count and rate. Integer samples
// are scaled to [-1, 1) the way torchaudio.load(normalize=True) does: divided by 2^(bits-1),
// 8-bit data being unsigned with 128 as zero.
//
// The reader trusts nothing in the file: every size is checked against the bytes that are
// really there, and a malformed file is a FormatError naming the file, the chunk and the
// field that is wrong. byte_rate is redundant and ignored (writers get it wrong in the wild).
//
// Streamed files are read as tools write them: a 'data' chunk whose size is 0xFFFFFFFF (the
// length was unknown, as `ffmpeg -i a.wav -f wav -` writes it to a pipe) or larger than what
// remains of the file holds the rest of the file, rounded down to whole frames — what
// torchaudio (sox) and scipy read. RF64 and BW64 files (the 64-bit sizes of a 'ds64' chunk,
// for recordings past 4 GiB) are read too. A truncated chunk other than 'data' stays an error.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm {

struct Audio {
  Tensor samples;  // [channels, frames], float in [-1, 1] for integer sources
  int sample_rate = 0;

  index channels() const noexcept { return samples.rank() == 2 ? samples.dim(0) : 0; }
  index frames() const noexcept { return samples.rank() == 2 ? samples.dim(1) : 0; }
  double seconds() const noexcept { return sample_rate > 0 ? double(frames()) / sample_rate : 0.0; }
  const float* channel(index c) const noexcept { return samples.data() + c * frames(); }
  float* channel(index c) noexcept { return samples.data() + c * frames(); }
};

// How a WAV file stores its samples; used by the writer (the reader accepts all of them).
enum class WavEncoding { pcm8, pcm16, pcm24, pcm32, float32, float64 };

struct WavWriteOptions {
  WavEncoding encoding = WavEncoding::pcm16;
  bool extensible = false;  // WAVE_FORMAT_EXTENSIBLE header instead of the plain one
};

// Limits that separate a real file from a lying header; far beyond any real recording.
inline constexpr std::uint32_t wav_max_channels = 1024;
inline constexpr std::uint32_t wav_max_sample_rate = 10'000'000;

namespace detail::wav {

inline std::uint16_t le16(const std::uint8_t* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
inline std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
inline std::uint64_t le64(const std::uint8_t* p) { return std::uint64_t(le32(p)) | (std::uint64_t(le32(p + 4)) << 32); }

// The size field of a chunk whose length its writer did not know.
inline constexpr std::uint32_t unknown_size = 0xFFFFFFFFu;

inline constexpr std::uint16_t format_pcm = 1;
inline constexpr std::uint16_t format_float = 3;
inline constexpr std::uint16_t format_extensible = 0xFFFE;
// The 14 bytes that follow the format code in KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT.
inline constexpr std::uint8_t subformat_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                                    0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

inline std::string chunk_name(const std::uint8_t* id) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>(id[i]);
    s += (c >= 32 && c < 127) ? c : '?';
  }
  return s;
}

struct Format {
  std::uint16_t code = 0;  // format_pcm or format_float after resolving EXTENSIBLE
  std::uint32_t channels = 0, sample_rate = 0, block_align = 0, bits = 0;
};

inline Format parse_fmt(const std::uint8_t* p, std::uint32_t size, const std::string& where) {
  auto fail = [&](const std::string& what) { throw FormatError(where + ": fmt chunk: " + what); };
  if (size < 16) fail("is " + std::to_string(size) + " bytes, needs at least 16");
  Format f;
  const std::uint16_t tag = le16(p);
  f.channels = le16(p + 2);
  f.sample_rate = le32(p + 4);
  f.block_align = le16(p + 12);
  f.bits = le16(p + 14);
  f.code = tag;
  if (tag == format_extensible) {
    if (size < 40) fail("WAVE_FORMAT_EXTENSIBLE needs 40 bytes, the chunk has " + std::to_string(size));
    const std::uint16_t cb_size = le16(p + 16);
    if (cb_size < 22) fail("cbSize is " + std::to_string(cb_size) + ", WAVE_FORMAT_EXTENSIBLE needs 22");
    const std::uint16_t valid_bits = le16(p + 18);
    if (valid_bits > f.bits) fail("wValidBitsPerSample " + std::to_string(valid_bits) + " exceeds the container's " +
                                  std::to_string(f.bits) + " bits");
    f.code = le16(p + 24);
    if (std::memcmp(p + 26, subformat_tail, sizeof subformat_tail) != 0 || (f.code != format_pcm && f.code != format_float))
      fail("SubFormat GUID is neither KSDATAFORMAT_SUBTYPE_PCM nor _IEEE_FLOAT");
  } else if (tag != format_pcm && tag != format_float) {
    fail("audio_format " + std::to_string(tag) + " is not supported (PCM = 1, IEEE float = 3, EXTENSIBLE = 0xFFFE)");
  }
  if (f.channels == 0) fail("channels is 0");
  if (f.channels > wav_max_channels) fail("channels is " + std::to_string(f.channels) + ", more than " +
                                          std::to_string(wav_max_channels) + " is not a real recording");
  if (f.sample_rate == 0 || f.sample_rate > wav_max_sample_rate)
    fail("sample_rate " + std::to_string(f.sample_rate) + " Hz is outside [1, " + std::to_string(wav_max_sample_rate) + "]");
  const bool ok_bits = f.code == format_pcm ? (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32)
                                            : (f.bits == 32 || f.bits == 64);
  if (!ok_bits)
    fail("bits_per_sample " + std::to_string(f.bits) + " is not supported for " +
         (f.code == format_pcm ? "PCM (8, 16, 24, 32)" : "IEEE float (32, 64)"));
  if (f.block_align != f.channels * (f.bits / 8))
    fail("block_align is " + std::to_string(f.block_align) + ", but " + std::to_string(f.channels) + " channel(s) of " +
         std::to_string(f.bits) + "-bit samples need " + std::to_string(f.channels * (f.bits / 8)));
  return f;
}

inline float decode_sample(const std::uint8_t* p, const Format& f) {
  if (f.code == format_float) {
    if (f.bits == 32) return std::bit_cast<float>(le32(p));
    const std::uint64_t bits = std::uint64_t(le32(p)) | (std::uint64_t(le32(p + 4)) << 32);
    return static_cast<float>(std::bit_cast<double>(bits));
  }
  switch (f.bits) {
    case 8: return (float(p[0]) - 128.0f) * (1.0f / 128.0f);
    case 16: return float(std::int16_t(le16(p))) * (1.0f / 32768.0f);
    case 24: {
      const std::int32_t v = std::int32_t(std::uint32_t(p[0]) << 8 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 24) >> 8;
      return float(v) * (1.0f / 8388608.0f);
    }
    default: return float(double(std::int32_t(le32(p))) * (1.0 / 2147483648.0));
  }
}

}  // namespace detail::wav

// Decodes a WAV file held in memory. `name` is what error messages call it.
inline Audio read_wav(std::span<const std::uint8_t> bytes, const std::string& name = "WAV buffer") {
  using namespace detail::wav;
  const std::uint8_t* p = bytes.data();
  const std::size_t n = bytes.size();
  if (n < 12) throw FormatError(name + ": RIFF header: file is " + std::to_string(n) + " bytes, a WAV file has at least 12");
  const bool rf64 = std::memcmp(p, "RF64", 4) == 0 || std::memcmp(p, "BW64", 4) == 0;
  if (std::memcmp(p, "RIFF", 4) != 0 && !rf64)
    throw FormatError(name + ": RIFF header: starts with '" + chunk_name(p) + "', expected 'RIFF', 'RF64' or 'BW64' (RIFX is not supported)");
  if (std::memcmp(p + 8, "WAVE", 4) != 0)
    throw FormatError(name + ": RIFF header: form type is '" + chunk_name(p + 8) + "', expected 'WAVE'");
  // The RIFF size is often wrong in files written by streaming tools; the chunk walk below
  // is bounded by the real buffer size instead.
  Format fmt;
  bool have_fmt = false, have_ds64 = false;
  std::uint64_t ds64_data_size = 0;
  std::size_t pos = 12;
  while (pos + 8 <= n) {
    const std::string id = chunk_name(p + pos);
    const std::uint32_t size32 = le32(p + pos + 4);
    const std::size_t body = pos + 8;
    const std::size_t remaining = n - body;
    if (id == "data") {
      if (!have_fmt) throw FormatError(name + ": 'data' chunk comes before any 'fmt ' chunk (missing fmt chunk)");
      std::uint64_t size = size32;
      if (rf64 && size32 == unknown_size) {
        if (!have_ds64) throw FormatError(name + ": RF64 'data' chunk at byte " + std::to_string(pos) + ": no 'ds64' chunk gives its size");
        size = ds64_data_size;
      }
      const bool streamed = (!rf64 && size32 == unknown_size) || size > remaining;
      if (streamed) {
        size = remaining - remaining % fmt.block_align;  // the rest of the file, whole frames
      } else if (size % fmt.block_align != 0) {
        throw FormatError(name + ": data chunk: size " + std::to_string(size) + " is not a multiple of block_align " +
                          std::to_string(fmt.block_align));
      }
      const index frames = index(size / fmt.block_align);
      const index channels = index(fmt.channels);
      Audio a;
      a.sample_rate = int(fmt.sample_rate);
      a.samples = Tensor(Shape{channels, frames});
      const std::uint32_t step = fmt.bits / 8;
      const std::uint8_t* src = p + body;
      for (index t = 0; t < frames; ++t)
        for (index c = 0; c < channels; ++c, src += step) a.samples[c * frames + t] = decode_sample(src, fmt);
      return a;
    }
    if (size32 > remaining)
      throw FormatError(name + ": '" + id + "' chunk at byte " + std::to_string(pos) + ": size field says " +
                        std::to_string(size32) + " bytes, only " + std::to_string(remaining) + " remain in the file");
    if (id == "fmt ") {
      fmt = parse_fmt(p + body, size32, name);
      have_fmt = true;
    } else if (id == "ds64" && rf64) {
      if (size32 < 24) throw FormatError(name + ": ds64 chunk is " + std::to_string(size32) + " bytes, needs at least 24");
      ds64_data_size = le64(p + body + 8);  // after the RIFF size; the sample count and table follow
      have_ds64 = true;
    }
    pos = body + size32 + (size32 & 1u);  // chunks are padded to even sizes
  }
  if (!have_fmt) throw FormatError(name + ": no 'fmt ' chunk (missing fmt chunk)");
  throw FormatError(name + ": no 'data' chunk after the 'fmt ' chunk");
}

inline Audio read_wav(std::span<const std::byte> bytes, const std::string& name = "WAV buffer") {
  return read_wav(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), name);
}

inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::error_code error;  // a directory opens as a stream whose size reads as 2^63 - 1
  if (std::filesystem::is_directory(path, error)) throw IoError(path.string() + ": a directory, not a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IoError(path.string() + ": cannot open for reading");
  const std::streamoff size = in.tellg();
  if (size < 0) throw IoError(path.string() + ": cannot determine the file size");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) throw IoError(path.string() + ": read failed");
  return bytes;
}

inline Audio read_wav(const std::filesystem::path& path) { return read_wav(read_file_bytes(path), path.string()); }
inline Audio read_wav(const char* path) { return read_wav(std::filesystem::path(path)); }
inline Audio read_wav(const std::string& path) { return read_wav(std::filesystem::path(path)); }

// Encodes audio as a WAV file in memory. Integer encodings round and clip to the format's
// range (so 1.0 becomes the largest code, as soundfile does).
inline std::vector<std::uint8_t> encode_wav(const Audio& audio, WavWriteOptions options = {}) {
  using namespace detail::wav;
  if (audio.samples.rank() != 2 || audio.channels() < 1)
    throw ShapeError("encode_wav: samples must have shape [channels, frames] with at least one channel, got " +
                     audio.samples.shape().str());
  if (audio.channels() > index(wav_max_channels)) throw RangeError("encode_wav: too many channels");
  if (audio.sample_rate <= 0 || std::uint32_t(audio.sample_rate) > wav_max_sample_rate)
    throw RangeError("encode_wav: sample rate " + std::to_string(audio.sample_rate) + " Hz is out of range");
  const bool is_float = options.encoding == WavEncoding::float32 || options.encoding == WavEncoding::float64;
  const std::uint32_t bits = options.encoding == WavEncoding::pcm8    ? 8
                             : options.encoding == WavEncoding::pcm16 ? 16
                             : options.encoding == WavEncoding::pcm24 ? 24
                             : options.encoding == WavEncoding::float64 ? 64
                                                                        : 32;
  const std::uint32_t channels = std::uint32_t(audio.channels());
  const std::uint32_t block = channels * bits / 8;
  const std::uint64_t data_size = std::uint64_t(block) * std::uint64_t(audio.frames());
  const std::uint32_t fmt_size = options.extensible ? 40 : 16;
  if (data_size + fmt_size + 20 + 1 > 0xFFFFFFFFull) throw RangeError("encode_wav: more than 4 GiB does not fit a RIFF file");

  std::vector<std::uint8_t> out;
  out.reserve(std::size_t(data_size) + fmt_size + 28);
  auto put = [&](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(std::uint8_t(v >> (8 * i)));
  };
  auto tag = [&](const char* s) { out.insert(out.end(), s, s + 4); };
  const std::uint32_t riff_size = std::uint32_t(4 + 8 + fmt_size + 8 + data_size + (data_size & 1));
  tag("RIFF"), put(riff_size, 4), tag("WAVE");
  tag("fmt "), put(fmt_size, 4);
  const std::uint16_t code = is_float ? format_float : format_pcm;
  put(options.extensible ? format_extensible : code, 2);
  put(channels, 2), put(std::uint32_t(audio.sample_rate), 4), put(std::uint32_t(audio.sample_rate) * block, 4);
  put(block, 2), put(bits, 2);
  if (options.extensible) {
    put(22, 2), put(bits, 2);
    put(channels <= 32 ? (channels == 32 ? 0xFFFFFFFFu : (1u << channels) - 1u) : 0u, 4);
    put(code, 2);
    out.insert(out.end(), std::begin(subformat_tail), std::end(subformat_tail));
  }
  tag("data"), put(data_size, 4);
  const index frames = audio.frames();
  for (index t = 0; t < frames; ++t) {
    for (index c = 0; c < index(channels); ++c) {
      const float x = audio.samples[c * frames + t];
      if (options.encoding == WavEncoding::float32) {
        put(std::bit_cast<std::uint32_t>(x), 4);
      } else if (options.encoding == WavEncoding::float64) {
        put(std::bit_cast<std::uint64_t>(double(x)), 8);
      } else {
        const double scale = double(std::uint64_t(1) << (bits - 1));
        const double v = std::clamp(std::nearbyint(double(x) * scale), -scale, scale - 1);
        const std::int64_t q = std::int64_t(v);
        if (bits == 8)
          put(std::uint64_t(q + 128), 1);
        else
          put(std::uint64_t(q), int(bits / 8));
      }
    }
  }
  if (data_size & 1) out.push_back(0);
  return out;
}

inline void write_wav(const std::filesystem::path& path, const Audio& audio, WavWriteOptions options = {}) {
  const std::vector<std::uint8_t> bytes = encode_wav(audio, options);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw IoError(path.string() + ": cannot open for writing");
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!f) throw IoError(path.string() + ": write failed");
}

// The mean of all channels, as one channel at the same rate.
inline Audio downmix(const Audio& audio) {
  if (audio.samples.rank() != 2 || audio.channels() < 1)
    throw ShapeError("downmix: samples must have shape [channels, frames] with at least one channel, got " +
                     audio.samples.shape().str());
  const index frames = audio.frames(), channels = audio.channels();
  Audio mono;
  mono.sample_rate = audio.sample_rate;
  mono.samples = Tensor(Shape{1, frames});
  float* out = mono.samples.data();
  for (index c = 0; c < channels; ++c) {
    const float* in = audio.channel(c);
    for (index t = 0; t < frames; ++t) out[t] += in[t];
  }
  const float scale = 1.0f / float(channels);
  for (index t = 0; t < frames; ++t) out[t] *= scale;
  return mono;
}

}  // namespace mmm
