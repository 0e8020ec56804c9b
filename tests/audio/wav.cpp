// WAV reader and writer: round trips in every encoding, and clear errors for truncated or
// lying files (each naming the file and the chunk/field at fault).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "mmm/preprocess/audio/wav.hpp"

using Catch::Matchers::Contains;

namespace {

mmm::Audio random_audio(mmm::index channels, mmm::index frames, int rate, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-0.999f, 0.999f);
  mmm::Audio a{mmm::Tensor(mmm::Shape{channels, frames}), rate};
  for (float& v : a.samples.span()) v = dist(gen);
  return a;
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + std::size_t(i)] = std::uint8_t(v >> (8 * i));
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = std::uint8_t(v), b[at + 1] = std::uint8_t(v >> 8);
}

// A plain 16-bit stereo file: fmt at 12 (fields from 20), data header at 36, samples at 44.
std::vector<std::uint8_t> good_file() {
  return mmm::encode_wav(random_audio(2, 10, 16000, 7), {.encoding = mmm::WavEncoding::pcm16});
}

}  // namespace

TEST_CASE("WAV round trip in every encoding", "[audio][wav]") {
  using E = mmm::WavEncoding;
  // Quantization step of each encoding: a round trip is exact to half of it.
  const std::pair<E, double> encodings[] = {{E::pcm8, 1.0 / 128}, {E::pcm16, 1.0 / 32768}, {E::pcm24, 1.0 / 8388608},
                                            {E::pcm32, 1e-7},      {E::float32, 0.0},       {E::float64, 0.0}};
  for (auto [encoding, step] : encodings)
    for (bool extensible : {false, true})
      for (mmm::index channels : {1, 2, 3}) {
        const mmm::Audio a = random_audio(channels, 101 + channels, 8000 + 1000 * int(channels), 42 + unsigned(channels));
        const auto bytes = mmm::encode_wav(a, {.encoding = encoding, .extensible = extensible});
        const mmm::Audio b = mmm::read_wav(bytes, "roundtrip");
        INFO("encoding " << int(encoding) << " extensible " << extensible << " channels " << channels);
        REQUIRE(b.sample_rate == a.sample_rate);
        REQUIRE(b.samples.shape() == a.samples.shape());
        for (mmm::index i = 0; i < a.samples.numel(); ++i)
          REQUIRE(std::fabs(b.samples[i] - a.samples[i]) <= step / 2 + 1e-7);
      }
}

TEST_CASE("write_wav and read_wav through a file; downmix", "[audio][wav]") {
  const auto path = std::filesystem::temp_directory_path() / "mmm_audio_wav_test.wav";
  const mmm::Audio a = random_audio(2, 333, 22050, 3);
  mmm::write_wav(path, a, {.encoding = mmm::WavEncoding::float32});
  const mmm::Audio b = mmm::read_wav(path);
  std::filesystem::remove(path);
  REQUIRE(b.channels() == 2);
  REQUIRE(b.frames() == 333);
  REQUIRE(b.seconds() == Approx(333.0 / 22050));
  const mmm::Audio mono = mmm::downmix(b);
  REQUIRE(mono.channels() == 1);
  for (mmm::index t = 0; t < 333; ++t) REQUIRE(mono.samples[t] == Approx((a.channel(0)[t] + a.channel(1)[t]) / 2));
  REQUIRE_THROWS_AS(mmm::read_wav(std::filesystem::path("/nonexistent/dir/x.wav")), mmm::IoError);
  REQUIRE_THROWS_WITH(mmm::read_wav(std::filesystem::path("/nonexistent/dir/x.wav")), Contains("x.wav"));
}

TEST_CASE("8-bit PCM is unsigned and integer scaling follows torchaudio", "[audio][wav]") {
  auto bytes = mmm::encode_wav(mmm::Audio{mmm::Tensor(mmm::Shape{1, 3}), 8000}, {.encoding = mmm::WavEncoding::pcm8});
  bytes[44] = 0, bytes[45] = 128, bytes[46] = 255;
  const mmm::Audio a = mmm::read_wav(bytes);
  REQUIRE(a.samples[0] == -1.0f);
  REQUIRE(a.samples[1] == 0.0f);
  REQUIRE(a.samples[2] == 127.0f / 128.0f);
}

TEST_CASE("Malformed WAV files raise FormatError naming the file and field", "[audio][wav]") {
  auto fails_with = [](std::vector<std::uint8_t> bytes, const std::string& text) {
    INFO("expected a FormatError containing '" << text << "'");
    REQUIRE_THROWS_AS(mmm::read_wav(bytes, "bad.wav"), mmm::FormatError);
    REQUIRE_THROWS_WITH(mmm::read_wav(bytes, "bad.wav"), Contains("bad.wav") && Contains(text));
  };
  REQUIRE_NOTHROW(mmm::read_wav(good_file(), "good.wav"));
  const auto good = good_file();
  REQUIRE(mmm::read_wav(std::as_bytes(std::span(good)), "bytes.wav").frames() == 10);

  fails_with({}, "at least 12");
  {
    auto b = good_file();
    b.resize(11);
    fails_with(b, "at least 12");
  }
  {
    auto b = good_file();
    b[0] = 'X';
    fails_with(b, "RIFF");
  }
  {
    auto b = good_file();
    b[8] = 'A';
    fails_with(b, "WAVE");
  }
  {
    auto b = good_file();  // zero channels
    put16(b, 22, 0);
    fails_with(b, "channels is 0");
  }
  {
    auto b = good_file();  // absurd channel count
    put16(b, 22, 60000);
    fails_with(b, "channels");
  }
  {
    auto b = good_file();  // absurd rates
    put32(b, 24, 0);
    fails_with(b, "sample_rate");
    put32(b, 24, 4'000'000'000u);
    fails_with(b, "sample_rate");
  }
  {
    auto b = good_file();  // block_align lies
    put16(b, 32, 3);
    fails_with(b, "block_align");
  }
  {
    auto b = good_file();  // 12-bit PCM
    put16(b, 34, 12);
    fails_with(b, "bits_per_sample");
  }
  {
    auto b = good_file();  // ADPCM
    put16(b, 20, 2);
    fails_with(b, "audio_format");
  }
  {
    auto b = good_file();  // fmt chunk too short
    put32(b, 16, 14);
    fails_with(b, "fmt chunk");
  }
  {
    auto b = good_file();  // a chunk before the data that runs past the end
    b.resize(36);
    b.insert(b.end(), {'L', 'I', 'S', 'T', 100, 0, 0, 0, 'I', 'N', 'F', 'O'});
    fails_with(b, "'LIST' chunk at byte 36: size field says 100 bytes, only 4 remain in the file");
  }
  {
    auto b = good_file();  // fmt chunk cut short by the end of the file
    b.resize(30);
    fails_with(b, "'fmt ' chunk at byte 12: size field says 16 bytes, only 10 remain");
  }
  {
    auto b = good_file();  // data not a whole number of frames
    put32(b, 40, 38);
    fails_with(b, "multiple of block_align");
  }
  {
    auto b = good_file();  // fmt renamed: data comes first
    b[12] = 'x';
    fails_with(b, "missing fmt chunk");
  }
  {
    auto b = good_file();  // no data chunk at all
    b.resize(36);
    fails_with(b, "no 'data' chunk");
  }
  {
    auto b = std::vector<std::uint8_t>{'R', 'I', 'F', 'F', 4, 0, 0, 0, 'W', 'A', 'V', 'E'};
    fails_with(b, "missing fmt chunk");
  }
  {
    auto b = mmm::encode_wav(random_audio(1, 4, 8000, 1), {.encoding = mmm::WavEncoding::float32, .extensible = true});
    auto bad_guid = b;
    bad_guid[20 + 24 + 2 + 5] ^= 0xFF;  // a byte of the SubFormat GUID tail
    fails_with(bad_guid, "SubFormat");
    auto short_cb = b;
    put16(short_cb, 20 + 16, 10);
    fails_with(short_cb, "cbSize");
    auto float16 = b;
    put16(float16, 34, 16), put16(float16, 32, 2), put16(float16, 20 + 18, 16);
    fails_with(float16, "bits_per_sample");
  }
}

TEST_CASE("Streamed WAVs: an unknown or too large data size reads to the end, in whole frames", "[audio][wav]") {
  const mmm::Audio a = random_audio(2, 10, 16000, 7);
  const auto good = mmm::encode_wav(a, {.encoding = mmm::WavEncoding::pcm16});
  auto same = [&](const mmm::Audio& b, mmm::index frames) {
    REQUIRE(b.frames() == frames);
    REQUIRE(b.channels() == 2);
    const mmm::Audio full = mmm::read_wav(good);
    for (mmm::index c = 0; c < 2; ++c)
      for (mmm::index t = 0; t < frames; ++t) REQUIRE(b.channel(c)[t] == full.channel(c)[t]);
  };
  {
    auto b = good;  // ffmpeg to a pipe: RIFF and data sizes unknown
    put32(b, 4, 0xFFFFFFFFu), put32(b, 40, 0xFFFFFFFFu);
    same(mmm::read_wav(b), 10);
    b.push_back(1), b.push_back(2), b.push_back(3);  // a partial frame at the end is dropped
    same(mmm::read_wav(b), 10);
  }
  {
    auto b = good;  // the data size promises more than the file has
    put32(b, 40, 1000);
    same(mmm::read_wav(b), 10);
    b.resize(b.size() - 3);  // cut inside the last frame
    same(mmm::read_wav(b), 9);
    b.resize(44);  // a data chunk with nothing in it
    CHECK(mmm::read_wav(b).frames() == 0);
  }
}

TEST_CASE("RF64 and BW64 WAVs take their sizes from the ds64 chunk", "[audio][wav]") {
  const mmm::Audio a = random_audio(3, 17, 22050, 9);
  const auto riff = mmm::encode_wav(a, {.encoding = mmm::WavEncoding::pcm24});
  // RF64: 'RF64', size ~0, 'WAVE', then a ds64 chunk before fmt; data's 32-bit size is ~0.
  auto rf64 = [&](const char* magic, std::uint64_t data_size) {
    std::vector<std::uint8_t> b(riff.begin(), riff.begin() + 12);
    std::copy(magic, magic + 4, b.begin());
    put32(b, 4, 0xFFFFFFFFu);
    const std::uint8_t ds64[] = {'d', 's', '6', '4', 28, 0, 0, 0};
    b.insert(b.end(), std::begin(ds64), std::end(ds64));
    for (int i = 0; i < 28; ++i) b.push_back(0);
    for (int i = 0; i < 8; ++i) b[20 + 8 + i] = std::uint8_t(data_size >> (8 * i));
    b.insert(b.end(), riff.begin() + 12, riff.end());
    put32(b, b.size() - riff.size() + 40, 0xFFFFFFFFu);
    return b;
  };
  const std::uint64_t data = 3 * 3 * 17;
  for (const char* magic : {"RF64", "BW64"}) {
    INFO(magic);
    const mmm::Audio b = mmm::read_wav(rf64(magic, data), "rf64.wav");
    REQUIRE(b.frames() == 17);
    REQUIRE(b.channels() == 3);
    const mmm::Audio full = mmm::read_wav(riff);
    for (mmm::index i = 0; i < b.samples.numel(); ++i) REQUIRE(b.samples[i] == full.samples[i]);
    CHECK(mmm::read_wav(rf64(magic, data - 9), "rf64.wav").frames() == 16);  // exact, shorter
    CHECK(mmm::read_wav(rf64(magic, data << 20), "rf64.wav").frames() == 17);  // streamed: to the end
  }
  auto no_ds64 = rf64("RF64", data);
  no_ds64[12] = 'x';  // the ds64 chunk is now an unknown chunk
  REQUIRE_THROWS_WITH(mmm::read_wav(no_ds64, "rf64.wav"), Contains("rf64.wav") && Contains("no 'ds64' chunk"));
  auto short_ds64 = rf64("RF64", data);
  put32(short_ds64, 16, 20);
  REQUIRE_THROWS_AS(mmm::read_wav(short_ds64, "rf64.wav"), mmm::FormatError);
}

TEST_CASE("encode_wav and downmix check their input", "[audio][wav]") {
  REQUIRE_THROWS_AS(mmm::encode_wav(mmm::Audio{mmm::Tensor(mmm::Shape{4}), 8000}), mmm::ShapeError);
  REQUIRE_THROWS_AS(mmm::encode_wav(mmm::Audio{mmm::Tensor(mmm::Shape{1, 4}), 0}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::downmix(mmm::Audio{mmm::Tensor(mmm::Shape{0, 4}), 8000}), mmm::ShapeError);
}
