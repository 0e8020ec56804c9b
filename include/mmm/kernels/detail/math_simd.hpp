#pragma once
// One-register math for kernels/math.hpp: each function maps a batch of floats to a batch
// of floats, for any xsimd architecture (AVX-512, AVX2, SSE, NEON). The array-level API
// (loops, tails, rows) lives in math.hpp; the accuracy bounds are stated and tested there.
//
// Range reductions and polynomial shapes follow Cephes (S. L. Moshier's single-precision
// library): exp by n·ln2 reduction with a split constant, log by mantissa/exponent split
// around √½, tanh by a small odd polynomial below 0.625 and 1 − 2/(e^{2x}+1) above, erf by
// x·P(x²) below 1 and e^{−x²}·R(1/x²)/x from 2 on. What is ours: the power-of-two scaling
// (AVX-512 scalef, or two normal factors elsewhere) that makes results overflow to inf and
// underflow through the subnormals with one rounding; AVX-512 getexp/getmant for log, whose
// special cases then need no fix-ups; e^{z²}·erfc(z) on [½, 2) as a polynomial fitted here;
// e^{−x²} evaluated from an exact split of x² (so the GELU and erf tails keep their
// relative accuracy instead of losing |x|²·ε); and sigmoid/SiLU/GELU written so that no
// 1 − (nearly 1) cancellation happens for negative inputs.
//
// Every operation here is safe under floating-point contraction (-ffp-contract=fast):
// exact splits use masking and Fast2Sum, never Dekker products.

#include <cstdint>
#include <utility>

#include <xsimd/xsimd.hpp>

#ifdef XSIMD_NO_SUPPORTED_ARCHITECTURE
#error "mmm's math kernels need an instruction set xsimd supports (SSE2, AVX, AVX-512 or NEON)"
#endif

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps(), which -Wuninitialized
// reports once inlined into any caller; the value is never read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mmm::kernels::simd {

template <class Arch>
using Floats = xsimd::batch<float, Arch>;
template <class Arch>
using Ints = xsimd::batch<std::int32_t, Arch>;

namespace detail {

template <class A>
inline Floats<A> as_floats(const Ints<A>& i) {
  return xsimd::bitwise_cast<Floats<A>>(i);
}
template <class A>
inline Ints<A> as_ints(const Floats<A>& f) {
  return xsimd::bitwise_cast<Ints<A>>(f);
}

// The first k lanes (0 < k < size) from p and `fill` in the others, reading nothing past
// p + k; store_partial writes only the first k lanes. AVX and AVX-512 mask the memory
// access; elsewhere a stack buffer does it.
template <class A>
inline Floats<A> load_partial(const float* p, std::size_t k, float fill, xsimd::generic) {
  alignas(64) float buf[Floats<A>::size];
  for (std::size_t i = 0; i < Floats<A>::size; ++i) buf[i] = i < k ? p[i] : fill;
  return Floats<A>::load_aligned(buf);
}
template <class A>
inline void store_partial(float* p, std::size_t k, const Floats<A>& v, xsimd::generic) {
  alignas(64) float buf[Floats<A>::size];
  v.store_aligned(buf);
  for (std::size_t i = 0; i < k; ++i) p[i] = buf[i];
}
#if XSIMD_WITH_AVX
alignas(32) inline constexpr std::int32_t avx_lane_masks[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
template <class A>
inline Floats<A> load_partial(const float* p, std::size_t k, float fill, xsimd::avx) {
  const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(avx_lane_masks + 8 - k));
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
template <class A>
inline void store_partial(float* p, std::size_t k, const Floats<A>& v, xsimd::avx) {
  _mm256_maskstore_ps(p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(avx_lane_masks + 8 - k)), v);
}
#endif
#if XSIMD_WITH_AVX512F
template <class A>
inline Floats<A> load_partial(const float* p, std::size_t k, float fill, xsimd::avx512f) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), static_cast<__mmask16>((1u << k) - 1u), p);
}
template <class A>
inline void store_partial(float* p, std::size_t k, const Floats<A>& v, xsimd::avx512f) {
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << k) - 1u), v);
}
#endif

// Largest lane (NaN lanes are the caller's).
template <class A>
inline float reduce_max(const Floats<A>& v, xsimd::generic) {
  alignas(64) float buf[Floats<A>::size];
  v.store_aligned(buf);
  float m = buf[0];
  for (std::size_t i = 1; i < Floats<A>::size; ++i) m = buf[i] > m ? buf[i] : m;
  return m;
}
#if XSIMD_WITH_AVX512F
template <class A>
inline float reduce_max(const Floats<A>& v, xsimd::avx512f) {
  return _mm512_reduce_max_ps(v);
}
#endif

// Σ lanes of v, in every lane; sum_lanes2 does a and b at once (sharing the shuffles). The
// order of the additions is a fixed tree; AVX and AVX-512 stay in registers (no store,
// no scalar round trip), elsewhere xsimd's hadd.
template <class A>
inline Floats<A> sum_lanes(const Floats<A>& v, xsimd::generic) {
  return Floats<A>(xsimd::hadd(v));
}
template <class A>
inline std::pair<Floats<A>, Floats<A>> sum_lanes2(const Floats<A>& a, const Floats<A>& b, xsimd::generic) {
  return {Floats<A>(xsimd::hadd(a)), Floats<A>(xsimd::hadd(b))};
}
#if XSIMD_WITH_AVX
template <class A>
inline __m256 sum_in_128_lanes(__m256 u) {  // each 128-bit lane: its 4 floats summed, in all 4
  u = _mm256_add_ps(u, _mm256_permute_ps(u, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm256_add_ps(u, _mm256_permute_ps(u, _MM_SHUFFLE(2, 3, 0, 1)));
}
template <class A>
inline Floats<A> sum_lanes(const Floats<A>& v, xsimd::avx) {
  return sum_in_128_lanes<A>(_mm256_add_ps(v, _mm256_permute2f128_ps(v, v, 0x01)));
}
template <class A>
inline std::pair<Floats<A>, Floats<A>> sum_lanes2(const Floats<A>& a, const Floats<A>& b, xsimd::avx) {
  // [a.lo + a.hi | b.lo + b.hi], then within each half.
  const __m256 u = sum_in_128_lanes<A>(_mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31)));
  return {_mm256_permute2f128_ps(u, u, 0x00), _mm256_permute2f128_ps(u, u, 0x11)};
}
#endif
#if XSIMD_WITH_AVX512F
template <class A>
inline __m512 sum_in_128_lanes512(__m512 u) {
  u = _mm512_add_ps(u, _mm512_permute_ps(u, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm512_add_ps(u, _mm512_permute_ps(u, _MM_SHUFFLE(2, 3, 0, 1)));
}
template <class A>
inline Floats<A> sum_lanes(const Floats<A>& v, xsimd::avx512f) {
  __m512 u = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  u = _mm512_add_ps(u, _mm512_shuffle_f32x4(u, u, _MM_SHUFFLE(2, 3, 0, 1)));
  return sum_in_128_lanes512<A>(u);
}
template <class A>
inline std::pair<Floats<A>, Floats<A>> sum_lanes2(const Floats<A>& a, const Floats<A>& b, xsimd::avx512f) {
  // 128-bit blocks [a0 + a2, a1 + a3, b0 + b2, b1 + b3], then [A, A, B, B], then within blocks.
  __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  u = sum_in_128_lanes512<A>(_mm512_add_ps(u, _mm512_shuffle_f32x4(u, u, _MM_SHUFFLE(2, 3, 0, 1))));
  return {_mm512_shuffle_f32x4(u, u, 0x00), _mm512_shuffle_f32x4(u, u, 0xAA)};
}
#endif

// Horner's scheme with coefficients from the highest power down.
template <class A, std::size_t N>
inline Floats<A> horner(const Floats<A>& x, const float (&c)[N]) {
  Floats<A> p(c[0]);
  for (std::size_t i = 1; i < N; ++i) p = xsimd::fma(p, x, Floats<A>(c[i]));
  return p;
}

// 2^n for integer n in [-126, 127], built from the exponent field.
template <class A>
inline Floats<A> pow2(const Ints<A>& n) {
  return as_floats<A>((n + Ints<A>(127)) << 23);
}

// v·2^n for integer-valued n in [-173, 128] and v ∈ [2^-7, 2^7]: as two factors that each
// stay normal, so the product overflows to inf or rounds into the subnormals exactly once.
template <class A>
inline Floats<A> scale_pow2(const Floats<A>& v, const Floats<A>& n, xsimd::generic) {
  const Ints<A> ni = xsimd::to_int(n);
  const Ints<A> n1 = ni >> 1;
  return v * pow2<A>(n1) * pow2<A>(ni - n1);
}
#if XSIMD_WITH_AVX512F
// AVX-512 has the instruction: v·2^⌊n⌋ with a single rounding.
template <class A>
inline Floats<A> scale_pow2(const Floats<A>& v, const Floats<A>& n, xsimd::avx512f) {
  return _mm512_scalef_ps(v, n);
}
#endif

// e^x as p·2^n with p ∈ [0.7, 1.42]: the caller may multiply its own factor into p first
// (SiLU's x·e^x), so that a result near the underflow threshold is rounded once. Inputs are
// clamped to [-120, 89] (e^x overflows above 88.73; x·e^x underflows below about -108.6
// for any |x| that reaches it; inputs below -120 are the caller's). NaN passes through:
// x86's max/min return their second operand when either is NaN, NEON's return NaN.
template <class A>
struct ExpParts {
  Floats<A> p, n;
  Floats<A> times(const Floats<A>& f) const { return scale_pow2<A>(f * p, n, A{}); }
  Floats<A> value() const { return scale_pow2<A>(p, n, A{}); }
};

template <class A, bool NonPositive = false>
inline ExpParts<A> exp_parts(Floats<A> x) {
  using F = Floats<A>;
  x = xsimd::max(F(-120.0f), x);
  if constexpr (!NonPositive) x = xsimd::min(F(89.0f), x);
  const F n = xsimd::nearbyint(x * F(1.44269504088896341f));
  // x − n·ln2 with ln2 = 0.693359375 (9 bits, so n·C1 is exact) − 2.12194440e-4.
  F r = xsimd::fnma(n, F(0.693359375f), x);
  r = xsimd::fnma(n, F(-2.12194440e-4f), r);
  static constexpr float c[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  return {xsimd::fma(horner<A>(r, c), r * r, r) + F(1.0f), n};
}

template <class A>
inline Floats<A> keep_nan(const Floats<A>& x, const Floats<A>& y) {
  return xsimd::select(xsimd::isnan(x), x, y);
}

}  // namespace detail

template <class A>
inline Floats<A> exp(const Floats<A>& x) {
  return detail::exp_parts<A>(x).value();
}

namespace detail {

// Cephes logf core: log(2^e·(1 + f)) = e·ln2 + f − f²/2 + f³·P(f) for 1 + f ∈ [√½, √2),
// ln2 in two positive parts (e·hi exact for |e| < 2^9; e = −inf gives −inf, not inf − inf).
template <class A>
inline Floats<A> log_core(const Floats<A>& e, const Floats<A>& f) {
  using F = Floats<A>;
  static constexpr float c[] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
  const F z = f * f;
  F y = horner<A>(f, c) * f * z;
  y = xsimd::fma(e, F(1.42860682030941723e-6f), y);
  y = xsimd::fnma(F(0.5f), z, y);
  return xsimd::fma(e, F(0.693145751953125f), f + y);
}

template <class A>
inline Floats<A> log(const Floats<A>& x, xsimd::generic) {
  using F = Floats<A>;
  using I = Ints<A>;
  // Subnormal inputs are scaled into the normal range first.
  const auto tiny = x < F(1.17549435e-38f);
  const I bits = as_ints<A>(xsimd::select(tiny, x * F(8388608.0f), x));
  F e = xsimd::to_float((bits >> 23) - I(126)) - xsimd::select(tiny, F(23.0f), F(0.0f));
  const F m = as_floats<A>((bits & I(0x007fffff)) | I(0x3f000000));  // [0.5, 1)
  const auto low = m < F(0.707106781186547524f);
  e = e - xsimd::select(low, F(1.0f), F(0.0f));
  F r = log_core<A>(e, xsimd::select(low, m + m, m) - F(1.0f));  // f exact either way
  const F inf(std::numeric_limits<float>::infinity());
  r = xsimd::select(x == inf, inf, r);
  r = xsimd::select(x == F(0.0f), -inf, r);
  return xsimd::select(x < F(0.0f) || xsimd::isnan(x), F(std::numeric_limits<float>::quiet_NaN()), r);
}
#if XSIMD_WITH_AVX512F
// AVX-512 reads exponent and mantissa directly, subnormals included, and its special cases
// come out right by themselves: getexp(±0) = −inf, getexp(inf) = inf with mantissa 1, and
// getmant gives NaN for NaN and negative inputs.
template <class A>
inline Floats<A> log(const Floats<A>& x, xsimd::avx512f) {
  using F = Floats<A>;
  const F m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_nan);  // [1, 2)
  const auto high = m > F(1.41421356237309505f);
  const F e = F(_mm512_getexp_ps(x)) + xsimd::select(high, F(1.0f), F(0.0f));
  return log_core<A>(e, xsimd::select(high, m * F(0.5f), m) - F(1.0f));  // f exact either way
}
#endif

}  // namespace detail

template <class A>
inline Floats<A> log(const Floats<A>& x) {
  return detail::log<A>(x, A{});
}

template <class A>
inline Floats<A> tanh(const Floats<A>& x) {
  using F = Floats<A>;
  const F ax = xsimd::abs(x);
  static constexpr float c[] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                                1.33314422036e-1f, -3.33332819422e-1f};
  const F z = x * x;
  const F small = xsimd::fma(detail::horner<A>(z, c) * z, x, x);
  // 1 − 2/(e^{2|x|} + 1); e^{2|x|} = inf for large |x| gives exactly 1.
  const F big = F(1.0f) - F(2.0f) / (detail::exp_parts<A>(ax + ax).value() + F(1.0f));
  // Both branches carry the sign of x except at −0, which the copysign restores.
  return xsimd::copysign(xsimd::select(ax < F(0.625f), small, big), x);
}

// 1/(1 + e^{−x}) computed from e = e^{−|x|} ∈ (0, 1]: 1/(1+e) for x ≥ 0, e/(1+e) for x < 0,
// so that the result keeps its relative accuracy down to the subnormals.
template <class A>
inline Floats<A> sigmoid(const Floats<A>& x) {
  using F = Floats<A>;
  const F e = detail::exp_parts<A, true>(x | F(-0.0f)).value();  // e^{−|x|}
  const F num = xsimd::select(x < F(0.0f), e, F(1.0f));
  return num / (F(1.0f) + e);
}

// x·sigmoid(x); for x < 0 the numerator x·e^x is formed before the final scaling so that
// results near the underflow threshold get one rounding. silu(−inf) is NaN, as in PyTorch.
template <class A>
inline Floats<A> silu(const Floats<A>& x) {
  using F = Floats<A>;
  const auto parts = detail::exp_parts<A, true>(x | F(-0.0f));  // e^{−|x|}
  const F num = xsimd::select(x < F(0.0f), parts.times(x), x);
  // Past the clamp of exp_parts the result underflows to −0, except −inf·0 = NaN.
  return xsimd::select(x < F(-120.0f), x * F(0.0f), num / (F(1.0f) + parts.value()));
}

namespace detail {

// erf(z) = z·P(z²) for |z| < 1 (Cephes erff). erf_small is a product, so erf(−0) = −0;
// erf_small_plus(z, c) = c + erf(z) with one rounding fewer, for GELU's 1 + erf(z).
template <class A>
inline Floats<A> erf_poly(const Floats<A>& z2) {
  static constexpr float p[] = {7.853861353153693e-5f,  -8.010193625184903e-4f, 5.188327685732524e-3f,
                                -2.685381193529856e-2f, 1.128358514861418e-1f,  -3.761262582423300e-1f,
                                1.128379165726710e+0f};
  return horner<A>(z2, p);
}
template <class A>
inline Floats<A> erf_small(const Floats<A>& z) {
  return z * erf_poly<A>(z * z);
}
template <class A>
inline Floats<A> erf_small_plus(const Floats<A>& z, const Floats<A>& c) {
  return xsimd::fma(z, erf_poly<A>(z * z), c);
}

// m·erfc(z) for z ≥ 0.5 given w = z² as hi + lo. erfc(z) = e^{−z²}·g(z): on [0.5, 2),
// g = e^{z²}·erfc(z) is a degree-10 polynomial in z − 1.25 (ours: weighted least squares
// to relative error 2.2e-9, about 1.6 ulp once evaluated in float); from 2 on, Cephes
// erfcf's R(1/z²)/z. e^{−hi−lo} = e^{−hi}·(1 − lo) because |lo| ≤ ulp(hi)/2; the factor
// m goes in before the power-of-two scaling so a subnormal result is rounded once.
template <class A>
inline Floats<A> erfc_scaled(const Floats<A>& m, const Floats<A>& z, const Floats<A>& w_hi,
                             const Floats<A>& w_lo) {
  using F = Floats<A>;
  static constexpr float g[] = {6.163294893e-05f,  -1.922530791e-04f, 4.708491906e-04f, -1.308945706e-03f,
                                3.553375136e-03f,  -9.085785598e-03f, 2.201143838e-02f, -5.021785945e-02f,
                                1.067955643e-01f,  -2.088218927e-01f, 3.678229153e-01f};
  static constexpr float r[] = {-1.047766399936249e+1f, 1.297719955372516e+1f,  -7.495518717768503e+0f,
                                2.921019019210786e+0f,  -1.015265279202700e+0f, 4.218463358204948e-1f,
                                -2.820767439740514e-1f, 5.641895067754075e-1f};
  const F q = F(1.0f) / z;
  const F poly = xsimd::select(z < F(2.0f), horner<A>(z - F(1.25f), g), q * horner<A>(q * q, r));
  const F c = m * poly;
  return exp_parts<A, true>(-w_hi).times(xsimd::fnma(c, w_lo, c));
}

// x² = hi + lo to within 2^-35·x², hi a float and |lo| ≤ ulp(hi)/2, for |x| < 2^40:
// x = xh + xl with xh holding 12 significant bits, so xh² is exact and xl·(xh + x) the
// small rest (one rounding); Fast2Sum then folds the two into hi + lo.
template <class A>
inline void square_split(const Floats<A>& x, Floats<A>& hi, Floats<A>& lo) {
  using F = Floats<A>;
  const F xh = as_floats<A>(as_ints<A>(x) & Ints<A>(static_cast<std::int32_t>(0xfffff000u)));
  const F xl = x - xh;
  const F a = xh * xh;
  const F b = xl * (xh + x);
  hi = a + b;
  lo = (a - hi) + b;
}

}  // namespace detail

template <class A>
inline Floats<A> erf(const Floats<A>& x) {
  using F = Floats<A>;
  // Above 4, erf rounds to ±1; clamping keeps z² far from overflow.
  const F z = xsimd::min(xsimd::abs(x), F(4.0f));
  F hi, lo;
  detail::square_split<A>(z, hi, lo);
  const F large = F(1.0f) - detail::erfc_scaled<A>(F(1.0f), xsimd::max(z, F(1.0f)), hi, lo);
  const F y = xsimd::select(z < F(1.0f), detail::erf_small<A>(x), xsimd::copysign(large, x));
  return detail::keep_nan<A>(x, y);
}

// Exact GELU x·Φ(x) = x/2·erfc(−x/√2): for x ≥ −√½, x/2·(1 + erf(x/√2)); below, the tail
// x/2·erfc(|x|/√2) with e^{−x²/2} from the exact split of x², so the result keeps its
// relative accuracy until it underflows (x ≈ −13.2). gelu(−inf) is NaN, as in PyTorch.
template <class A>
inline Floats<A> gelu(const Floats<A>& x) {
  using F = Floats<A>;
  const F half_x = x * F(0.5f);
  const F xc = xsimd::min(xsimd::max(x, F(-14.5f)), F(14.5f));  // |gelu(x) − max(x,0)| underflows
  const F z = xc * F(0.70710678118654752f);
  F hi, lo;
  detail::square_split<A>(xc, hi, lo);
  // z ≤ −½: x/2·erfc(|z|) in one go; z ≥ 1: x/2·(2 − erfc(z)); between: x/2·(1 + erf(z)),
  // where 1 + erf(z) ≥ 0.48 keeps its relative accuracy.
  const auto negative = z < F(0.0f);
  const F tail = detail::erfc_scaled<A>(xsimd::select(negative, half_x, F(1.0f)), xsimd::max(xsimd::abs(z), F(0.5f)),
                                        hi * F(0.5f), lo * F(0.5f));
  const F mid = half_x * detail::erf_small_plus<A>(z, F(1.0f));
  F y = xsimd::select(z <= F(-0.5f), tail, xsimd::select(z >= F(1.0f), half_x * (F(2.0f) - tail), mid));
  y = xsimd::select(x < F(-14.5f), x * F(0.0f), y);  // −0, and −inf·0 = NaN
  y = xsimd::select(x > F(14.5f), x, y);
  return detail::keep_nan<A>(x, y);
}

// PyTorch's approximate='tanh' GELU, x/2·(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³),
// written as x·sigmoid(2u) to avoid the cancellation in 1 + tanh(u) for x < 0.
template <class A>
inline Floats<A> gelu_tanh(const Floats<A>& x) {
  using F = Floats<A>;
  const F x2 = x * x;
  const F two_u = F(1.59576912160573072f) * xsimd::fma(F(0.044715f) * x2, x, x);
  const auto parts = detail::exp_parts<A, true>(two_u | F(-0.0f));
  const F num = xsimd::select(two_u < F(0.0f), parts.times(x), x);
  // Past the clamp of exp_parts the result underflows to −0, except −inf·0 = NaN.
  const F y = xsimd::select(two_u < F(-120.0f), x * F(0.0f), num / (F(1.0f) + parts.value()));
  return detail::keep_nan<A>(x, y);
}

// max(x, 0) with NaN kept and −0 kept (torch.relu semantics).
template <class A>
inline Floats<A> relu(const Floats<A>& x) {
  using F = Floats<A>;
  return xsimd::select(x < F(0.0f), F(0.0f), x);
}

}  // namespace mmm::kernels::simd

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
