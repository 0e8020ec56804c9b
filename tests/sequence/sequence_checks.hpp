#pragma once
// What the sequence tests share: running an oracle case through a recurrent layer (with one
// thread, then with a team of two forced onto the small test sizes), and streaming it in
// chunks and frames, which must give the whole-sequence result bit for bit.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mmm/io/load.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/kernels/recurrent.hpp"
#include "support/forced_team.hpp"
#include "support/oracle.hpp"

namespace mmm::test::sequence {

using mmm::test::ForcedTeam;  // support/forced_team.hpp: the team on the test sizes

// Bitwise equality of two float arrays (NaN included), with the first difference reported.
inline void require_identical(TensorView<const float> a, TensorView<const float> b, const std::string& what) {
  INFO(what << ": shapes " << a.shape().str() << " and " << b.shape().str());
  REQUIRE(a.shape() == b.shape());
  for (index i = 0; i < a.numel(); ++i)
    if (std::memcmp(a.data() + i, b.data() + i, sizeof(float)) != 0) {
      INFO(what << ": element " << i << " is " << a[i] << " in one and " << b[i] << " in the other");
      REQUIRE(false);
    }
}

// The inputs of a case: x, lengths, and h0/c0 when the case has them.
struct CaseInputs {
  Tensor x, h0, c0;
  IntTensor lengths;
  InitialStates initial;

  explicit CaseInputs(const OracleCase& c) : x(c.input("x")), lengths(c.int_input("lengths")) {
    if (c.file().contains("input.h0")) {
      h0 = c.input("h0");
      initial.h0 = h0.view();
    }
    if (c.file().contains("input.c0")) {
      c0 = c.input("c0");
      initial.c0 = c0.view();
    }
  }
};

// The largest error relative to the largest magnitude of the expected tensor: the measure
// for bfloat16 results, whose error is a fraction of each dot product's terms (not of its
// sum, which may be near 0); the ONNX Runtime and libtorch peers are checked the same way.
inline double error_of_largest(TensorView<const float> actual, TensorView<const float> expected) {
  double worst = 0, scale = 0;
  for (index i = 0; i < expected.numel(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(actual[i]) - expected[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(expected[i])));
  }
  return worst / std::max(scale, 1e-30);
}

// Elementwise relative error |a − e| / max(|e|, floor·max|e|). The recurrent layers use
// floor = 1e-2 rather than support/oracle.hpp's 1e-3: an output near 0 (a cell state that
// cancels, a gate near 0) carries the absolute error of the sums it came from, ≈ ε·Σ|terms|,
// in any float32 implementation — torch's own float32 LSTM, measured against float64 this
// way, reaches 1.5e-4 at the 1e-3 floor and ~2e-5 at 1e-2.
inline double relative_error(TensorView<const float> actual, TensorView<const float> expected, double floor) {
  double scale = 0, worst = 0;
  for (index i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(expected[i])));
  const double least = std::max(floor * scale, 1e-30);
  for (index i = 0; i < expected.numel(); ++i) {
    const double e = expected[i], err = std::fabs(static_cast<double>(actual[i]) - e);
    worst = std::max(worst, std::isnan(err) ? HUGE_VAL : err / std::max(std::fabs(e), least));
  }
  return worst;
}

// How a case is held to its bound: elementwise relative error (float32), or the error
// relative to the largest expected magnitude (bfloat16).
enum class Bound { relative, of_largest };

inline double check_close(TensorView<const float> actual, TensorView<const float> expected, double tolerance, Bound bound,
                          const std::string& what) {
  INFO(what << ": shape " << actual.shape().str() << " vs PyTorch " << expected.shape().str());
  REQUIRE(actual.shape() == expected.shape());
  const double e = bound == Bound::relative ? relative_error(actual, expected, 1e-2) : error_of_largest(actual, expected);
  INFO(what << (bound == Bound::relative ? ": max relative error (floor 1e-2 of the largest) " : ": max error / max |expected| ")
            << e << " (bound " << tolerance << "); " << compare(actual, expected).worst << " is the worst element");
  REQUIRE(e <= tolerance);
  return e;
}

// Runs `name` through m against torch's y, h_n (and c_n), with 1 thread and with a forced
// team of 2 (whose result must be the same bits). Returns the worst error.
template <class M>
double check_against_torch(M& m, const std::string& name, double tolerance, Bound bound = Bound::relative) {
  constexpr index In = M::input_size;
  OracleCase c(name);
  c.load_model(m);
  const CaseInputs in(c);
  const Seq<In> x(in.x.view(), in.lengths.data());
  Workspace ws;
  const auto r = m.forward_with_states(x, ws, in.initial);
  const Tensor y = r.output.to_tensor(), h_n = Tensor::copy_of(r.h_n);
  double worst = check_close(y, c.output("y"), tolerance, bound, name + " y");
  worst = std::max(worst, check_close(h_n, c.output("h_n"), tolerance, bound, name + " h_n"));
  Tensor c_n;
  if constexpr (M::cell_size > 0) {
    c_n = Tensor::copy_of(r.c_n);
    worst = std::max(worst, check_close(c_n, c.output("c_n"), tolerance, bound, name + " c_n"));
  }
  {
    const ForcedTeam team;
    Workspace ws2;
    const auto r2 = m.forward_with_states(x, ws2, in.initial);
    require_identical(r2.output.view(), y, name + " y with a team of 2 threads");
    require_identical(r2.h_n, h_n, name + " h_n with a team of 2 threads");
    if constexpr (M::cell_size > 0) require_identical(r2.c_n, c_n, name + " c_n with a team of 2 threads");
  }
  std::printf("%-16s %-44s %s %.2e (bound %.0e)\n", name.c_str(), M::name().c_str(),
              bound == Bound::relative ? "max relative error       " : "max error / max |torch|  ", worst, tolerance);
  return worst;
}

// Frames [t0, t0 + n) of every row of x [batch, T, D], and their lengths in that window.
inline Tensor chunk_of(const Tensor& x, index t0, index n) {
  const index batch = x.dim(0), steps = x.dim(1), d = x.dim(2);
  Tensor out(Shape{batch, n, d});
  for (index b = 0; b < batch; ++b)
    std::memcpy(out.data() + b * n * d, x.data() + (b * steps + t0) * d, sizeof(float) * static_cast<std::size_t>(n * d));
  return out;
}

// Streams the case in chunks of 1, 3, 2, 4, ... frames (per-chunk lengths from the case's),
// and, with every row at full length, frame by frame: both must give the whole-sequence
// forward's outputs and final states bit for bit.
template <class M>
void check_streaming(const M& m, const std::string& name) {
  constexpr index In = M::input_size, Out = M::output_size;
  OracleCase c(name);
  const CaseInputs in(c);
  const index batch = in.x.dim(0), steps = in.x.dim(1);
  Workspace ws, ws_stream;

  // Chunks, with lengths.
  const auto whole = m.forward_with_states(Seq<In>(in.x.view(), in.lengths.data()), ws, in.initial);
  typename M::State state(batch);
  state.set(in.h0.view(), in.c0.view());
  const index sizes[] = {1, 3, 2, 4};
  std::vector<std::int32_t> chunk_lengths(static_cast<std::size_t>(batch));
  for (index t0 = 0, i = 0; t0 < steps; t0 += sizes[i % 4], ++i) {
    const index n = std::min(sizes[i % 4], steps - t0);
    const Tensor chunk = chunk_of(in.x, t0, n);
    for (index b = 0; b < batch; ++b)
      chunk_lengths[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(std::clamp<index>(in.lengths[b] - t0, 0, n));
    ws_stream.reset();
    const Seq<Out> out = m.step(Seq<In>(chunk.view(), chunk_lengths.data()), state, ws_stream);
    for (index b = 0; b < batch; ++b)
      require_identical({out.data + b * n * Out, Shape{n, Out}}, {whole.output.data + (b * steps + t0) * Out, Shape{n, Out}},
                        name + ": chunk at step " + std::to_string(t0) + ", row " + std::to_string(b));
  }
  require_identical(state.h_n(), whole.h_n, name + ": h_n after the chunks");
  if constexpr (M::cell_size > 0) require_identical(state.c_n(), whole.c_n, name + ": c_n after the chunks");

  // Frames, every row at full length.
  const auto full = m.forward_with_states(Seq<In>(in.x.view()), ws, in.initial);
  state.set(in.h0.view(), in.c0.view());
  for (index t = 0; t < steps; ++t) {
    const Tensor frame = chunk_of(in.x, t, 1);
    const Feat<Out> h = m.step(Feat<In>(frame.data(), batch), state, ws_stream);
    for (index b = 0; b < batch; ++b)
      require_identical({h.data + b * Out, Shape{Out}}, {full.output.data + (b * steps + t) * Out, Shape{Out}},
                        name + ": frame " + std::to_string(t) + ", row " + std::to_string(b));
  }
  require_identical(state.h_n(), full.h_n, name + ": h_n after the frames");
  if constexpr (M::cell_size > 0) require_identical(state.c_n(), full.c_n, name + ": c_n after the frames");
}

// The real-time case `name`: Layer(1→H) then Linear(H→1) fed one sample at a time against
// torch's y, and each streamed h bit for bit the whole sequence's.
template <class Layer>
void check_real_time(const std::string& name) {
  constexpr index H = Layer::hidden_size;
  OracleCase c(name);
  Layer rnn;
  Linear<H, 1> dense;
  load(rnn, c.file(), "model.rnn");
  load(dense, c.file(), "model.dense");
  const Tensor x = c.input("x");
  const index steps = x.dim(1);
  Tensor y(Shape{1, steps, 1});
  typename Layer::State state(1);
  Workspace ws;
  for (index t = 0; t < steps; ++t) {
    ws.reset();
    y[t] = dense.forward(rnn.step(Feat<1>(x.data() + t, 1), state, ws), ws).data[0];
  }
  const double e = check_close(y, c.output("y"), 1e-4, Bound::relative, name + ": " + Layer::name() + " + Linear, streamed");
  std::printf("%-16s %-44s max relative error        %.2e (bound 1e-04)\n", name.c_str(), Layer::name().c_str(), e);
  Workspace ws2;
  const Seq<H> whole = rnn(Seq<1>(x.view()), ws2);
  state.reset();
  for (index t = 0; t < steps; ++t)
    require_identical({rnn.step(Feat<1>(x.data() + t, 1), state, ws).data, Shape{H}}, {whole.data + t * H, Shape{H}},
                      name + ": sample " + std::to_string(t));
}

}  // namespace mmm::test::sequence
