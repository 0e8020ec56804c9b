#pragma once
// Transposed 2-D convolution (torch.nn.ConvTranspose2d) over NCHW maps: the adjoint of a
// convolution, each input value spreading a kernel-sized patch into the output.
//
// Per image and group, a GEMM gives every input position's patches at once,
//   cols[positions × Out_g·kh·kw] = Xᵀ[positions × In_g] · W[In_g × Out_g·kh·kw],
// (the weight, torch's [In, Out/groups, kh, kw], is that right-hand side as stored, packed
// once), and col2im adds each patch into the output at (iy·s − pad + ky·d, ix·s − pad + kx·d).
// Positions go in chunks so that cols stays a bounded scratch; the epilogue (bias,
// residual, activation) runs over the finished planes.
//
// Phases. With dilation 1 and each kernel side a multiple of its stride (kernel = m·s, as
// a generator's ConvTranspose2d(k = 2s, stride s) is), the outputs of one phase (oy mod s_h,
// ox mod s_w) are an ordinary stride-1 convolution of the input with an m_h×m_w slice of
// the kernel, flipped: s_h·s_w convolutions through kernels::conv2d (implicit GEMM, no
// im2col), each phase's planes then spread into the output rows at stride s. No col2im, no
// transposed GEMM, and the same multiplications. The phase weights are re-laid once at
// load; the path is taken when every phase's padding comes out ≥ 0 (pad ≤ m − 1 roughly),
// the general path otherwise.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/conv.hpp"
#include "mmm/kernels/gemm.hpp"

namespace mmm::kernels {

// ConvParams describe the transposed convolution as torch's arguments do (in_channels
// are the input's); output_padding extends the bottom and right edges.
struct ConvTransposeParams {
  ConvParams conv;
  index output_padding_h = 0, output_padding_w = 0;

  constexpr index out_h(index h) const {
    return (h - 1) * conv.stride_h - conv.pad_top - conv.pad_bottom + conv.dilation_h * (conv.kernel_h - 1) +
           output_padding_h + 1;
  }
  constexpr index out_w(index w) const {
    return (w - 1) * conv.stride_w - conv.pad_left - conv.pad_right + conv.dilation_w * (conv.kernel_w - 1) +
           output_padding_w + 1;
  }
  constexpr index patch() const { return conv.group_out() * conv.kernel_h * conv.kernel_w; }
};

// Input positions per GEMM: a chunk's cols (positions × patch) stay in L2 for col2im.
inline index conv_transpose_chunk(const ConvTransposeParams& p) {
  return std::max<index>(14, (256 * 1024 / 4) / std::max<index>(1, p.patch()) / 14 * 14);
}

// Floats of scratch one call needs: one chunk of cols.
inline index conv_transpose_cols(const ConvTransposeParams& p, index in_h, index in_w) {
  return std::max<index>(1, checked_mul(std::min(conv_transpose_chunk(p), in_h * in_w), p.patch(), "conv_transpose2d"));
}

namespace detail {
constexpr index floor_div(index a, index b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Phase `phase` of one axis (stride s, kernel m·s, padding before/after, output_padding op):
// output o = s·q + phase reads input q + before' − (m − 1) + u for u in [0, m), with the
// kernel tap first + s·(m − 1 − u). before' and after' are the phase convolution's padding,
// so that it gives exactly the outputs of that phase (independent of the input size).
struct PhaseAxis {
  index taps = 1, first = 0, before = 0, after = 0;
};
constexpr PhaseAxis phase_axis(index stride, index kernel, index pad_before, index pad_after, index output_padding,
                               index phase) {
  const index m = kernel / stride, a = (phase + pad_before) / stride;
  const index c = -floor_div(pad_before + pad_after + phase - output_padding, stride);  // ceil((op − pads − phase) / s)
  return {m, (phase + pad_before) % stride, m - 1 - a, m - 1 + c + a};
}
}  // namespace detail

// The phase convolutions of a transposed convolution, or none (the general path).
struct ConvTransposePhases {
  index stride_h = 1, stride_w = 1;
  std::vector<ConvParams> params;  // phase (py, px) at py·stride_w + px
  std::vector<PackedConvWeights> weights;
  bool empty() const noexcept { return params.empty(); }

  static constexpr bool applicable(const ConvTransposeParams& p) {
    const ConvParams& c = p.conv;
    if (c.dilation_h != 1 || c.dilation_w != 1 || c.kernel_h % c.stride_h != 0 || c.kernel_w % c.stride_w != 0)
      return false;
    for (index py = 0; py < c.stride_h; ++py) {
      const detail::PhaseAxis a = detail::phase_axis(c.stride_h, c.kernel_h, c.pad_top, c.pad_bottom, p.output_padding_h, py);
      if (a.before < 0 || a.after < 0) return false;
    }
    for (index px = 0; px < c.stride_w; ++px) {
      const detail::PhaseAxis a = detail::phase_axis(c.stride_w, c.kernel_w, c.pad_left, c.pad_right, p.output_padding_w, px);
      if (a.before < 0 || a.after < 0) return false;
    }
    return true;
  }
};

// The phase convolutions' weights, [Out, In_g, m_h, m_w] each, from torch's [In, Out_g, kh,
// kw], packed for conv2d (with the optional per-channel scale); empty when not applicable.
inline ConvTransposePhases pack_conv_transpose_phases(const ConvTransposeParams& p, const float* weight,
                                                      const float* scale) {
  ConvTransposePhases phases;
  if (!ConvTransposePhases::applicable(p)) return phases;
  const ConvParams& c = p.conv;
  const index in_g = c.group_in(), out_g = c.group_out();
  phases.stride_h = c.stride_h;
  phases.stride_w = c.stride_w;
  std::vector<float> relaid;
  for (index py = 0; py < c.stride_h; ++py)
    for (index px = 0; px < c.stride_w; ++px) {
      const detail::PhaseAxis ay = detail::phase_axis(c.stride_h, c.kernel_h, c.pad_top, c.pad_bottom, p.output_padding_h, py);
      const detail::PhaseAxis ax = detail::phase_axis(c.stride_w, c.kernel_w, c.pad_left, c.pad_right, p.output_padding_w, px);
      ConvParams q;
      q.in_channels = c.in_channels;
      q.out_channels = c.out_channels;
      q.groups = c.groups;
      q.kernel_h = ay.taps;
      q.kernel_w = ax.taps;
      q.pad_top = ay.before;
      q.pad_bottom = ay.after;
      q.pad_left = ax.before;
      q.pad_right = ax.after;
      relaid.assign(static_cast<std::size_t>(c.out_channels * q.depth()), 0.0f);
      for (index o = 0; o < c.out_channels; ++o) {
        const index g = o / out_g, og = o % out_g;
        for (index ci = 0; ci < in_g; ++ci)
          for (index u = 0; u < ay.taps; ++u)
            for (index v = 0; v < ax.taps; ++v) {
              const index ky = ay.first + c.stride_h * (ay.taps - 1 - u), kx = ax.first + c.stride_w * (ax.taps - 1 - v);
              relaid[static_cast<std::size_t>(((o * in_g + ci) * ay.taps + u) * ax.taps + v)] =
                  weight[(((g * in_g + ci) * out_g + og) * c.kernel_h + ky) * c.kernel_w + kx];
            }
      }
      phases.weights.emplace_back(relaid.data(), c.out_channels, c.groups, q.depth(), scale);
      phases.params.push_back(q);
    }
  return phases;
}

// The weight of each group packed as a GEMM's right-hand side, optionally each output
// channel scaled (a folded affine).
inline std::vector<PackedWeights> pack_conv_transpose(const ConvTransposeParams& p, const float* weight,
                                                      const float* scale) {
  const index in_g = p.conv.group_in(), patch = p.patch(), taps = p.conv.kernel_h * p.conv.kernel_w;
  std::vector<PackedWeights> packed;
  std::vector<float> scaled;
  for (index g = 0; g < p.conv.groups; ++g) {
    const float* w = weight + g * in_g * patch;
    if (scale) {
      scaled.assign(w, w + in_g * patch);
      for (index c = 0; c < in_g; ++c)
        for (index j = 0; j < patch; ++j) scaled[static_cast<std::size_t>(c * patch + j)] *= scale[g * p.conv.group_out() + j / taps];
      w = scaled.data();
    }
    packed.push_back(PackedWeights::from_kn(w, in_g, patch, patch));
  }
  return packed;
}

namespace detail {
// The first tap k (of a kernel placed at `start`, taps `dilation` apart) at or after 0,
// and the end of those before `size`.
constexpr index first_tap(index start, index dilation) { return start >= 0 ? 0 : (-start + dilation - 1) / dilation; }
constexpr index end_tap(index start, index dilation, index kernel, index size) {
  return start >= size ? 0 : std::min(kernel, (size - 1 - start) / dilation + 1);
}
}  // namespace detail

namespace detail {
// How a phase call is cut. Its unit is a row of phases (one py, every px: the output rows
// oy ≡ py), so that the px planes of an output row meet on one thread and a stride-2 row is
// written as an interleave of two. With at least as many rows of phases as threads, each
// thread runs whole rows (its conv2d calls alone on it: one parallel region per call);
// with fewer, the rows one after another, each conv2d on every thread. Per thread: one
// row's planes (stride_w phases), conv2d's floats and offsets.
struct PhaseSplit {
  int team = 1;
  index plane_floats = 16, floats = 1, offsets = 1;  // plane_floats: one phase's planes
};
inline PhaseSplit split_phases(const ConvTransposeParams& p, const ConvTransposePhases& phases, index batch, index in_h,
                               index in_w) {
  PhaseSplit s;
  const int threads = num_threads();
  s.team = threads > 1 && phases.stride_h >= threads ? threads : 1;
  for (const ConvParams& q : phases.params) {
    const index qh = q.out_h(in_h), qw = q.out_w(in_w);
    if (qh <= 0 || qw <= 0) continue;
    const ConvScratchSize need = conv2d_scratch(q, batch, in_h, in_w);
    s.offsets = std::max(s.offsets, (need.offsets + 15) / 16 * 16);
    s.floats = std::max(s.floats, (need.floats + 15) / 16 * 16);
    s.plane_floats = std::max(s.plane_floats, (checked_mul(checked_mul(batch, p.conv.out_channels, "conv_transpose2d"),
                                                           qh * qw, "conv_transpose2d") + 15) / 16 * 16);
  }
  return s;
}

// out[2j] = a[j], out[2j + 1] = b[j]: a loop the compiler vectorises (interleaving stores).
inline void interleave2(const float* __restrict a, const float* __restrict b, float* __restrict out, index n) {
  for (index j = 0; j < n; ++j) {
    out[2 * j] = a[j];
    out[2 * j + 1] = b[j];
  }
}
}  // namespace detail

// Scratch one call needs (kernels::conv2d's kinds): the general path's cols, or the phase
// path's split.
inline ConvScratchSize conv_transpose_scratch(const ConvTransposeParams& p, const ConvTransposePhases& phases,
                                              index batch, index in_h, index in_w) {
  if (phases.empty()) return {1, conv_transpose_cols(p, in_h, in_w)};
  const detail::PhaseSplit s = detail::split_phases(p, phases, batch, in_h, in_w);
  const index per_thread = checked_add(checked_mul(s.plane_floats, phases.stride_w, "conv_transpose2d"), s.floats,
                                       "conv_transpose2d");
  return {checked_mul(s.offsets, s.team, "conv_transpose2d"), checked_mul(per_thread, s.team, "conv_transpose2d")};
}

// The phase path of conv_transpose2d: each phase through conv2d into planes, then spread
// into the output at stride (s_h, s_w), every output element written by exactly one phase.
// The bias (and the activation, without a residual) run in conv2d's epilogue; a residual is
// gathered into the planes before the activation.
inline void conv_transpose2d_phases(const ConvTransposeParams& p, const float* x, index batch, index in_h, index in_w,
                                    const ConvTransposePhases& phases, float* y, const ConvEpilogue& ep,
                                    std::int32_t* offsets, float* scratch) {
  const ConvParams& c = p.conv;
  const index oh = p.out_h(in_h), ow = p.out_w(in_w), plane = oh * ow, sh = phases.stride_h, sw = phases.stride_w;
  const ConvEpilogue phase_ep{ep.bias, nullptr, ep.residual ? Activation::none : ep.activation};
  const detail::PhaseSplit split = detail::split_phases(p, phases, batch, in_h, in_w);
  const index per_thread = split.plane_floats * sw + split.floats;
  const index images = batch * c.out_channels;
  auto run_row = [&](index py, std::int32_t* my_offsets, float* planes) {
    const ConvParams& first = phases.params[static_cast<std::size_t>(py * sw)];
    const index qh = first.out_h(in_h);  // the same for every px
    if (qh <= 0) return;
    for (index px = 0; px < sw; ++px) {
      const ConvParams& q = phases.params[static_cast<std::size_t>(py * sw + px)];
      const index qw = q.out_w(in_w);
      if (qw <= 0) continue;
      float* mine = planes + px * split.plane_floats;
      conv2d(q, x, batch, in_h, in_w, phases.weights[static_cast<std::size_t>(py * sw + px)], mine, phase_ep,
             my_offsets, planes + sw * split.plane_floats);
      if (ep.residual)
        parallel_for(images, std::max<index>(1, 16384 / (qh * qw)), [&](index b0, index b1) {
          for (index b = b0; b < b1; ++b) {
            float* src = mine + b * qh * qw;
            const float* res = ep.residual + b * plane + py * ow + px;
            for (index r = 0; r < qh; ++r)
              for (index j = 0; j < qw; ++j) src[r * qw + j] += res[r * sh * ow + j * sw];
            if (ep.activation != Activation::none) apply(ep.activation, src, src, qh * qw);
          }
        });
    }
    const index qw0 = phases.params[static_cast<std::size_t>(py * sw)].out_w(in_w);
    const bool pair = sw == 2 && 2 * qw0 == ow;  // both phases qw0 wide
    parallel_for(images, std::max<index>(1, 16384 / (qh * ow)), [&](index b0, index b1) {
      for (index b = b0; b < b1; ++b) {
        float* dst = y + b * plane + py * ow;
        if (pair) {
          const float* even = planes + b * qh * qw0;
          const float* odd = planes + split.plane_floats + b * qh * qw0;
          for (index r = 0; r < qh; ++r) detail::interleave2(even + r * qw0, odd + r * qw0, dst + r * sh * ow, qw0);
          continue;
        }
        for (index px = 0; px < sw; ++px) {
          const index qw = phases.params[static_cast<std::size_t>(py * sw + px)].out_w(in_w);
          const float* src = planes + px * split.plane_floats + b * qh * qw;
          for (index r = 0; r < qh; ++r)
            for (index j = 0; j < qw; ++j) dst[r * sh * ow + px + j * sw] = src[r * qw + j];
        }
      }
    });
  };
  if (split.team <= 1) {
    for (index py = 0; py < sh; ++py) run_row(py, offsets, scratch);
    return;
  }
  parallel_team(split.team, [&](const Team& team) {
    // Inside the region conv2d and parallel_for run on this thread alone.
    for (index py = team.rank(); py < sh; py += team.size())
      run_row(py, offsets + team.rank() * split.offsets, scratch + team.rank() * per_thread);
  });
}

// y[N × Out × OH × OW] = epilogue(conv_transpose2d(x[N × In × H × W])): by phases when
// `phases` holds them, else the GEMM and col2im with w. The caller has checked that the
// output sizes are positive; scratch as conv_transpose_scratch says.
inline void conv_transpose2d(const ConvTransposeParams& p, const float* x, index batch, index in_h, index in_w,
                             const std::vector<PackedWeights>& w, const ConvTransposePhases& phases, float* y,
                             const ConvEpilogue& ep, std::int32_t* offsets, float* scratch) {
  if (!phases.empty()) return conv_transpose2d_phases(p, x, batch, in_h, in_w, phases, y, ep, offsets, scratch);
  float* cols = scratch;
  const ConvParams& c = p.conv;
  const index oh = p.out_h(in_h), ow = p.out_w(in_w), positions = in_h * in_w, plane = oh * ow;
  const index in_g = c.group_in(), out_g = c.group_out(), patch = p.patch(), taps = c.kernel_h * c.kernel_w;
  const index chunk = conv_transpose_chunk(p);
  std::fill_n(y, batch * c.out_channels * plane, 0.0f);
  for (index n = 0; n < batch; ++n)
    for (index g = 0; g < c.groups; ++g) {
      const float* xg = x + (n * c.in_channels + g * in_g) * positions;
      float* yg = y + (n * c.out_channels + g * out_g) * plane;
      for (index p0 = 0; p0 < positions; p0 += chunk) {
        const index m = std::min(chunk, positions - p0);
        // cols[m × patch] = (x's planes at positions p0..)ᵀ · W_g
        gemm(Trans::yes, m, xg + p0, positions, w[static_cast<std::size_t>(g)], cols, patch);
        // col2im: output channels are disjoint, so threads take channels. The taps that land
        // inside the output are a range of ky per input row and of kx per input column,
        // found once, so that the innermost loop has no test.
        parallel_for(out_g, 1, [&](index o0, index o1) {
          for (index o = o0; o < o1; ++o)
            for (index i = 0; i < m;) {
              const index iy = (p0 + i) / in_w, ix_begin = (p0 + i) % in_w;
              const index ix_end = std::min(in_w, ix_begin + (m - i));
              const index top = iy * c.stride_h - c.pad_top;
              const index ky0 = detail::first_tap(top, c.dilation_h), ky1 = detail::end_tap(top, c.dilation_h, c.kernel_h, oh);
              for (index ix = ix_begin; ix < ix_end; ++ix, ++i) {
                const index left = ix * c.stride_w - c.pad_left;
                const index kx0 = detail::first_tap(left, c.dilation_w), kx1 = detail::end_tap(left, c.dilation_w, c.kernel_w, ow);
                const float* src = cols + i * patch + o * taps;
                for (index ky = ky0; ky < ky1; ++ky) {
                  float* row = yg + o * plane + (top + ky * c.dilation_h) * ow;
                  const float* tap = src + ky * c.kernel_w;
                  for (index kx = kx0; kx < kx1; ++kx) row[left + kx * c.dilation_w] += tap[kx];
                }
              }
            }
        });
      }
    }
  // Epilogue over the finished planes.
  parallel_for(batch * c.out_channels, 1, [&](index b0, index b1) {
    for (index b = b0; b < b1; ++b) {
      float* out = y + b * plane;
      if (ep.bias) {
        const float bias = ep.bias[b % c.out_channels];
        for (index i = 0; i < plane; ++i) out[i] += bias;
      }
      if (ep.residual) add(out, ep.residual + b * plane, out, plane);
      if (ep.activation != Activation::none) apply(ep.activation, out, out, plane);
    }
  });
}

}  // namespace mmm::kernels
