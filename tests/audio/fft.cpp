// RealFft (Eigen) and RealFftBatch (ours) against a direct DFT in double, for lengths that
// exercise every radix path: 1, 2, powers of two, 400 = 2^4·5^2, odd, primes (97, 257), 511 =
// 7·73, 1000, Bluestein's (509, 1018 = 2·509, 2039, 4124 = 4·1031), and the batch's lanes
// with different signals. Bound: max |error| <= 1e-6 · log2(2n) · max|X| (float32
// rounding grows with the number of stages).
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <vector>

#include "mmm/preprocess/audio/fft.hpp"
#include "mmm/preprocess/audio/fft_batch.hpp"

namespace {

std::vector<std::complex<double>> dft(const float* x, mmm::index n) {
  std::vector<std::complex<double>> y(static_cast<std::size_t>(n / 2 + 1));
  for (mmm::index k = 0; k <= n / 2; ++k) {
    std::complex<double> acc = 0;
    for (mmm::index t = 0; t < n; ++t)
      acc += double(x[t]) * std::polar(1.0, -2.0 * std::numbers::pi * double((k * t) % n) / double(n));
    y[static_cast<std::size_t>(k)] = acc;
  }
  return y;
}

double bound(mmm::index n, const std::vector<std::complex<double>>& ref) {
  double peak = 0;
  for (auto v : ref) peak = std::max(peak, std::abs(v));
  return 1e-6 * std::log2(2.0 * double(n)) * std::max(peak, 1.0);
}

}  // namespace

TEST_CASE("Real FFTs match a double-precision DFT", "[audio][fft]") {
  std::mt19937 gen(11);
  std::normal_distribution<float> dist;
  constexpr mmm::index L = mmm::RealFftBatch::lanes;
  for (mmm::index n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 25, 30, 97, 200, 257, 400, 509, 510, 511, 512, 1000, 1018,
                       1024, 2039, 4124}) {
    INFO("n = " << n);
    std::vector<float> batch_in(static_cast<std::size_t>(n * L));
    for (float& v : batch_in) v = dist(gen);
    mmm::RealFftBatch batch(n);
    std::vector<float> batch_out(static_cast<std::size_t>(2 * batch.bins() * L));
    batch.forward(batch_in.data(), batch_out.data());
    mmm::RealFft single(n);
    REQUIRE(batch.bins() == n / 2 + 1);
    REQUIRE(single.bins() == n / 2 + 1);
    for (mmm::index l = 0; l < L; l += 5) {
      INFO("lane " << l);
      std::vector<float> x(static_cast<std::size_t>(n));
      for (mmm::index t = 0; t < n; ++t) x[static_cast<std::size_t>(t)] = batch_in[static_cast<std::size_t>(t * L + l)];
      const auto ref = dft(x.data(), n);
      const double tol = bound(n, ref);
      std::vector<std::complex<float>> y(static_cast<std::size_t>(n / 2 + 1));
      single.forward(x.data(), y.data());
      double err_single = 0, err_batch = 0;
      for (mmm::index k = 0; k <= n / 2; ++k) {
        const auto r = ref[static_cast<std::size_t>(k)];
        err_single = std::max(err_single, std::abs(std::complex<double>(y[static_cast<std::size_t>(k)]) - r));
        const std::complex<double> b(batch_out[static_cast<std::size_t>(2 * k * L + l)],
                                     batch_out[static_cast<std::size_t>((2 * k + 1) * L + l)]);
        err_batch = std::max(err_batch, std::abs(b - r));
      }
      INFO("max error: Eigen " << err_single << ", batch " << err_batch << ", bound " << tol);
      REQUIRE(err_single <= tol);
      REQUIRE(err_batch <= tol);
    }
  }
}

TEST_CASE("Lengths with a large prime factor take Bluestein's path, linear-logarithmic", "[audio][fft]") {
  for (mmm::index n : {509, 1018, 1031, 2039, 4124, 65521}) REQUIRE(mmm::RealFftBatch(n).uses_bluestein());
  for (mmm::index n : {1, 7, 49, 97, 257, 347, 400, 511, 694, 1000, 1024})
    REQUIRE_FALSE(mmm::RealFftBatch(n).uses_bluestein());
  // A prime near 10^5: a direct DFT would take ~10^10 multiply-adds per transform (minutes
  // under the sanitizers); Bluestein's is a few FFTs of 2·10^5. Spot-checked bins, lane 3.
  constexpr mmm::index n = 100003, L = mmm::RealFftBatch::lanes;
  mmm::RealFftBatch plan(n);
  REQUIRE(plan.uses_bluestein());
  std::mt19937 gen(5);
  std::normal_distribution<float> dist;
  std::vector<float> in(static_cast<std::size_t>(n * L)), out(static_cast<std::size_t>(2 * plan.bins() * L));
  for (float& v : in) v = dist(gen);
  plan.forward(in.data(), out.data());
  const double tol = 1e-6 * std::log2(2.0 * double(n)) * std::sqrt(double(n)) * 8;  // |X_k| ~ √n
  for (mmm::index k : {mmm::index(0), mmm::index(1), mmm::index(777), mmm::index(31337), n / 2}) {
    std::complex<double> ref = 0;
    for (mmm::index t = 0; t < n; ++t)
      ref += double(in[static_cast<std::size_t>(t * L + 3)]) *
             std::polar(1.0, -2.0 * std::numbers::pi * double((k * t) % n) / double(n));
    const std::complex<double> got(out[static_cast<std::size_t>(2 * k * L + 3)],
                                   out[static_cast<std::size_t>((2 * k + 1) * L + 3)]);
    INFO("bin " << k << ": " << got << " vs " << ref);
    REQUIRE(std::abs(got - ref) <= tol);
  }
}

TEST_CASE("FFT plans reject impossible lengths", "[audio][fft]") {
  REQUIRE_THROWS_AS(mmm::RealFft(0), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::RealFftBatch(-3), mmm::RangeError);
}
