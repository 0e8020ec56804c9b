#pragma once
// Element types as they appear in weight files, and conversions of the 16-bit floats to
// float. Compute in mmm is float32; other float types are decoded at load time.

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mmm {

enum class DType : std::uint8_t { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

// The names safetensors uses.
constexpr std::string_view name(DType t) {
  switch (t) {
    case DType::F64: return "F64";
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F8_E4M3: return "F8_E4M3";
    case DType::F8_E5M2: return "F8_E5M2";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U64: return "U64";
    case DType::U32: return "U32";
    case DType::U16: return "U16";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
  }
  return "?";
}

inline std::optional<DType> dtype_from_name(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(DType::BOOL); ++i)
    if (name(static_cast<DType>(i)) == s) return static_cast<DType>(i);
  return std::nullopt;
}

constexpr std::size_t size_of(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: case DType::U64: return 8;
    case DType::F32: case DType::I32: case DType::U32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
    case DType::F8_E4M3: case DType::F8_E5M2: case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  return 0;
}

// The dtypes mmm decodes to float parameters (the list; fp8 is recognised but not
// decoded, so that a file using it fails with a clear message rather than wrong numbers).
constexpr bool is_loadable_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}
constexpr bool is_integer(DType t) {
  return t == DType::I64 || t == DType::I32 || t == DType::I16 || t == DType::I8 || t == DType::U64 ||
         t == DType::U32 || t == DType::U16 || t == DType::U8 || t == DType::BOOL;
}

// IEEE binary16 to float, exact for every input (subnormals, infinities, NaN payloads).
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalise the mantissa into a float exponent.
    exp = 113;
    while (!(mant & 0x400u)) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

// bfloat16 is the top half of a float.
inline float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

// The nearest bfloat16 (ties to even), as torch's .bfloat16() rounds; NaN stays a quiet NaN
// of the same sign, infinities and subnormals are kept.
inline std::uint16_t float_to_bfloat16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

// How a layer stores the weights its products read: float32, or bfloat16 (half the bytes
// per step; products accumulate in float32 either way). Linear<In, Out, Bias, WeightType::bf16>,
// LSTM<In, Hidden, Rnn{.weights = WeightType::bf16}>.
enum class WeightType : std::uint8_t { f32, bf16 };

}  // namespace mmm
