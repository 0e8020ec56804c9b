#pragma once
// 1-D convolution over time-major sequences (N × T × C, as a speech front end holds its
// frames), with per-item valid lengths, on the implicit-GEMM kernel of conv.hpp.
//
// Output step t of an item reads input rows t·s − pad + j·d (j < K), channels of its group;
// the kernel's tile is MR consecutive output steps × NR output channels, the input value of
// step i at depth k = (c, j) at origin + i·s·C + offsets[k] with offsets[k] = j·d·C + c, so
// the rows are read where they are and the tile is stored as rows of the output, which is
// time-major too. Only the few steps whose window crosses an item's edges (its padding, or
// the end of its valid length) read a padded copy of the rows they need.
//
// Lengths: each item is convolved as if it were alone, its first L valid steps padded by
// the padding mode; it gives out(L) = ⌊(L + pads − d(K − 1) − 1)/s⌋ + 1 valid steps (0
// when L is shorter than the kernel needs, or 0) and its steps past them are zero.
//
// Depthwise (one input and one output channel per group): a vector loop over channels.

#include <algorithm>
#include <cstdint>

#include "mmm/core/checked.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/conv.hpp"

namespace mmm::kernels {

// kernel_w, stride_w, dilation_w, pad_left/pad_right and padding_mode of ConvParams
// describe the 1-D convolution; the h fields must be 1 and 0.
inline index conv1d_out_length(const ConvParams& p, index length) {
  return std::max<index>(0, p.out_w(length));
}

namespace detail {

struct Conv1dRange {
  index begin = 0, end = 0;  // output steps
};

// The output steps of an item of valid length L, cut into [0, a) reading left padding,
// [a, b) reading only valid rows, [b, n) reading right padding (or past L).
struct Conv1dSplit {
  index n = 0, a = 0, b = 0;
};

inline Conv1dSplit conv1d_split(const ConvParams& p, index length) {
  Conv1dSplit s;
  s.n = length > 0 ? conv1d_out_length(p, length) : 0;
  const index s_ = p.stride_w, reach = (p.kernel_w - 1) * p.dilation_w;
  const index first = (p.pad_left + s_ - 1) / s_;  // first step with t·s − pad ≥ 0
  // Last step with t·s − pad + reach ≤ L − 1.
  const index span = length - 1 - reach + p.pad_left;
  const index last = span < 0 ? -1 : span / s_;
  s.a = std::min(first, s.n);
  s.b = std::max(s.a, std::min(last + 1, s.n));
  return s;
}

// Rows an edge range of output steps reads: ((end − begin − 1)·s + reach + 1).
inline index conv1d_edge_rows(const ConvParams& p, index begin, index end) {
  return end > begin ? (end - begin - 1) * p.stride_w + (p.kernel_w - 1) * p.dilation_w + 1 : 0;
}

}  // namespace detail

// Scratch one conv1d call needs (floats): the padded rows of the largest edge range.
inline index conv1d_scratch(const ConvParams& p, index batch, index length, const std::int32_t* lengths) {
  index rows = 0;
  for (index b = 0; b < batch; ++b) {
    const index l = lengths ? lengths[b] : length;
    const detail::Conv1dSplit s = detail::conv1d_split(p, l);
    rows = std::max({rows, detail::conv1d_edge_rows(p, 0, s.a), detail::conv1d_edge_rows(p, s.b, s.n)});
  }
  return std::max<index>(1, checked_mul(rows, p.in_channels, "conv1d"));
}

// y[N × T' × Out] = epilogue(conv1d(x[N × T × In])), T' = conv1d_out_length(p, T);
// out_lengths[b] (when lengths are given) receives each item's output length. w packed with
// depth In_g·K in torch's order ([Out, In_g, K]); residual, when given, is laid out as y.
// The caller has checked T' > 0, each length in [0, T], and the padding mode's bounds
// against T (reflect and circular need them against each item's L too: items shorter
// than that are padded with zeros instead).
inline void conv1d(const ConvParams& p, const float* x, index batch, index length, const std::int32_t* lengths,
                   const PackedConvWeights& w, float* y, std::int32_t* out_lengths, const ConvEpilogue& ep,
                   std::int32_t* offsets, float* scratch) {
  using Arch = detail::kernel_arch;
  constexpr index MR = detail::ConvTraits<Arch>::mr;
  constexpr index NR = PackedConvWeights::nr;
  const index C = p.in_channels, O = p.out_channels, in_g = p.group_in(), out_g = p.group_out();
  const index out_len = conv1d_out_length(p, length), K = p.depth(), ppg = w.panels_per_group();
  for (index c = 0, k = 0; c < in_g; ++c)
    for (index j = 0; j < p.kernel_w; ++j) offsets[k++] = static_cast<std::int32_t>(j * p.dilation_w * C + c);
  const index step = p.stride_w * C;

  // Output steps [t0, t1) of item b from `source`, the input row of step t0 (channel 0).
  auto run_steps = [&](index b, index t0, index t1, const float* source, index q0, index q1) {
    alignas(64) float tile[detail::ConvTraits<Arch>::tile_rows * NR];
    float* yb = y + b * out_len * O;
    const float* rb = ep.residual ? ep.residual + b * out_len * O : nullptr;
    for (index q = q0; q < q1; ++q) {
      const index g = q / ppg, c0 = g * out_g + (q % ppg) * NR;
      const int cols = static_cast<int>(std::min(NR, (g + 1) * out_g - c0));
      detail::ConvTileEpilogue te{ep.bias ? ep.bias + c0 : nullptr, nullptr, O, ep.activation};
      for (index t = t0; t < t1; t += MR) {
        const int rows = static_cast<int>(std::min(MR, t1 - t));
        detail::conv_tile<Arch>(rows, K, source + (t - t0) * step + g * in_g, step, offsets, w.panel(q), tile);
        te.residual = rb ? rb + t * O + c0 : nullptr;
        detail::store_tile_rows<Arch>(tile, rows, cols, yb + t * O + c0, O, te);
      }
    }
  };

  // Edges: the rows they read, padded, into scratch (on the calling thread; a few steps).
  for (index b = 0; b < batch; ++b) {
    const index l = lengths ? lengths[b] : length;
    const detail::Conv1dSplit s = detail::conv1d_split(p, l);
    if (out_lengths) out_lengths[b] = static_cast<std::int32_t>(s.n);
    const float* xb = x + b * length * C;
    // Reflect and circular padding need rows on both sides; an item too short for them is
    // padded with zeros (torch would refuse it alone).
    const bool mode_fits = (p.padding_mode != PaddingMode::reflect || std::max(p.pad_left, p.pad_right) < l) &&
                           (p.padding_mode != PaddingMode::circular || std::max(p.pad_left, p.pad_right) <= l);
    const PaddingMode mode = mode_fits && l > 0 ? p.padding_mode : PaddingMode::zeros;
    for (const detail::Conv1dRange r : {detail::Conv1dRange{0, s.a}, detail::Conv1dRange{s.b, s.n}}) {
      if (r.end <= r.begin) continue;
      const index rows = detail::conv1d_edge_rows(p, r.begin, r.end), first = r.begin * p.stride_w - p.pad_left;
      for (index i = 0; i < rows; ++i) {
        const index src = padded_source(mode, first + i, l);
        float* dst = scratch + i * C;
        if (src < 0 || src >= l) std::fill_n(dst, C, 0.0f);
        else std::copy_n(xb + src * C, C, dst);
      }
      run_steps(b, r.begin, r.end, scratch, 0, w.panels());
    }
    // Steps past the item's output length are zero.
    std::fill(y + (b * out_len + s.n) * O, y + (b + 1) * out_len * O, 0.0f);
  }

  // The inside of every item, read in place: blocks of tiles × all panels, over threads.
  const index block_steps = 16 * MR;
  index units = 0;
  for (index b = 0; b < batch; ++b) {
    const detail::Conv1dSplit s = detail::conv1d_split(p, lengths ? lengths[b] : length);
    units += (s.b - s.a + block_steps - 1) / block_steps;
  }
  auto run_units = [&](index begin, index end) {
    index u = 0;
    for (index b = 0; b < batch && u < end; ++b) {
      const detail::Conv1dSplit s = detail::conv1d_split(p, lengths ? lengths[b] : length);
      const float* xb = x + b * length * C;
      for (index t = s.a; t < s.b; t += block_steps, ++u) {
        if (u < begin) continue;
        if (u >= end) break;
        const index t1 = std::min(s.b, t + block_steps);
        run_steps(b, t, t1, xb + (t * p.stride_w - p.pad_left) * C, 0, w.panels());
      }
    }
  };
  const double work = static_cast<double>(batch) * p.flops(1, out_len);
  const int threads = work < detail::conv_blocking().min_parallel_flops ? 1 : num_threads();
  if (threads <= 1 || units <= 1) {
    run_units(0, units);
    return;
  }
  parallel_for(units, 1, run_units);
}

// Depthwise (groups = In = Out): y[t][c] = Σ_j w[j][c]·x[t·s − pad + j·d][c], weights
// transposed to [K][C] (depthwise_weights_1d). Lengths, padding and the epilogue as conv1d.
inline void depthwise_conv1d(const ConvParams& p, const float* x, index batch, index length,
                             const std::int32_t* lengths, const float* w_kc, float* y, std::int32_t* out_lengths,
                             const ConvEpilogue& ep) {
  const index C = p.in_channels, out_len = conv1d_out_length(p, length);
  auto item = [&](index b) {
    const index l = lengths ? lengths[b] : length;
    const index n = l > 0 ? conv1d_out_length(p, l) : 0;
    if (out_lengths) out_lengths[b] = static_cast<std::int32_t>(n);
    const bool mode_fits = (p.padding_mode != PaddingMode::reflect || std::max(p.pad_left, p.pad_right) < l) &&
                           (p.padding_mode != PaddingMode::circular || std::max(p.pad_left, p.pad_right) <= l);
    const PaddingMode mode = mode_fits && l > 0 ? p.padding_mode : PaddingMode::zeros;
    const float* xb = x + b * length * C;
    float* yb = y + b * out_len * C;
    for (index t = 0; t < n; ++t) {
      float* out = yb + t * C;
      if (ep.bias) std::copy_n(ep.bias, C, out);
      else std::fill_n(out, C, 0.0f);
      for (index j = 0; j < p.kernel_w; ++j) {
        const index src = padded_source(mode, t * p.stride_w - p.pad_left + j * p.dilation_w, l);
        if (src < 0 || src >= l) continue;
        const float* in = xb + src * C;
        const float* wj = w_kc + j * C;
        for (index c = 0; c < C; ++c) out[c] += wj[c] * in[c];
      }
      if (ep.residual) add(out, ep.residual + (b * out_len + t) * C, out, C);
      if (ep.activation != Activation::none) apply(ep.activation, out, out, C);
    }
    std::fill(yb + n * C, yb + out_len * C, 0.0f);
  };
  parallel_for(batch, 1, [&](index begin, index end) {
    for (index b = begin; b < end; ++b) item(b);
  });
}

}  // namespace mmm::kernels
