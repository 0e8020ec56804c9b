#pragma once
// 2-D convolution over NCHW maps as an implicit GEMM: for each image and group,
//
//   Y[Out_g × OH·OW] = W[Out_g × K] · X̂[K × OH·OW],   K = In_g·kh·kw,
//
// where X̂ (im2col's matrix) is never formed. The micro-kernel (detail/conv_kernel.hpp)
// computes tiles of MR output positions × NR output channels, broadcasting each input
// value straight from the map at origin + i·stride + offsets[k] (one offset per depth
// step, the same for every position), against weights packed once into panels of NR
// channels (PackedConvWeights). The tile is stored transposed into the output planes,
// so the result lands in NCHW with bias, residual and activation applied; nothing is
// transposed afterwards.
//
// Padding. A convolution with padding reads, per block of output rows, a padded copy of
// just the input rows that block needs (a "band", all padding modes: zeros, reflect,
// replicate, circular), small enough to stay in L2 while every channel panel runs over it;
// without padding the kernel reads the map itself. A 1×1 stride-1 convolution without
// padding is a plain GEMM on the map (its positions are one long row).
//
// Few output channels (≤ detail::narrow_channels, one group, stride 1 along rows): a tile's
// NR lanes would hold mostly zeros, so detail::conv_narrow puts positions in the lanes and
// broadcasts the weights instead, reading the same map or bands.
//
// Threads split the blocks of rows (or, when a map has too few, the channel panels); each
// has its own band. Scratch comes from the caller (conv2d_scratch), so a layer takes it
// from its Workspace.

#include <algorithm>
#include <cstdint>
#include <limits>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/conv_kernel.hpp"

namespace mmm::kernels {

// How values beyond the input's edges are made, as torch.nn.Conv2d's padding_mode.
enum class PaddingMode : std::uint8_t { zeros, reflect, replicate, circular };

constexpr const char* name(PaddingMode m) {
  switch (m) {
    case PaddingMode::zeros: return "zeros";
    case PaddingMode::reflect: return "reflect";
    case PaddingMode::replicate: return "replicate";
    case PaddingMode::circular: return "circular";
  }
  return "?";
}

// The input index a padded position reads, or -1 for a zero: i in [-pad, n + pad).
inline index padded_source(PaddingMode mode, index i, index n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PaddingMode::zeros: return -1;
    case PaddingMode::reflect: return i < 0 ? -i : 2 * (n - 1) - i;  // pad < n
    case PaddingMode::replicate: return i < 0 ? 0 : n - 1;
    case PaddingMode::circular: return ((i % n) + n) % n;  // pad ≤ n
  }
  return -1;
}

// Everything about a convolution but the image size: channels, kernel, stride, dilation,
// padding per side, groups.
struct ConvParams {
  index in_channels = 1, out_channels = 1, groups = 1;
  index kernel_h = 1, kernel_w = 1;
  index stride_h = 1, stride_w = 1;
  index dilation_h = 1, dilation_w = 1;
  index pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  PaddingMode padding_mode = PaddingMode::zeros;

  constexpr index group_in() const { return in_channels / groups; }
  constexpr index group_out() const { return out_channels / groups; }
  constexpr index depth() const { return group_in() * kernel_h * kernel_w; }  // K of the GEMM
  constexpr bool padded() const { return pad_top > 0 || pad_bottom > 0 || pad_left > 0 || pad_right > 0; }
  // Output sizes for an input size; ≤ 0 when the (padded) input is smaller than the
  // (dilated) kernel.
  constexpr index out_h(index h) const { return out_size(h + pad_top + pad_bottom, kernel_h, stride_h, dilation_h); }
  constexpr index out_w(index w) const { return out_size(w + pad_left + pad_right, kernel_w, stride_w, dilation_w); }
  static constexpr index out_size(index padded, index k, index s, index d) {
    const index span = padded - d * (k - 1) - 1;  // floor(span / s) + 1, as torch
    return span >= 0 ? span / s + 1 : 1 - (-span + s - 1) / s;
  }
  // FLOPs of one image (multiply and add counted apart), for benchmarks.
  double flops(index out_h, index out_w) const {
    return 2.0 * static_cast<double>(out_channels) * static_cast<double>(depth()) * static_cast<double>(out_h) *
           static_cast<double>(out_w);
  }
};

// Weights [Out, In_g, kh, kw] (torch's layout) packed per group into panels of NR output
// channels, each K×NR with a depth step's NR weights together (zero past the group's
// channels). An optional per-channel scale multiplies channel o's weights (a folded
// BatchNorm). Immutable after packing.
class PackedConvWeights {
 public:
  static constexpr index nr = detail::ConvTraits<detail::kernel_arch>::nr;

  PackedConvWeights() = default;
  PackedConvWeights(const float* weight, index out_channels, index groups, index depth, const float* scale = nullptr)
      : out_(out_channels), groups_(groups), depth_(depth) {
    const index group_out = out_channels / groups;
    panels_per_group_ = (group_out + nr - 1) / nr;
    const index floats = checked_mul(checked_mul(groups * panels_per_group_, depth, "PackedConvWeights"), nr,
                                     "PackedConvWeights");
    data_ = allocate_aligned<float>(std::max<index>(floats, 1));
    for (index g = 0; g < groups; ++g)
      for (index p = 0; p < panels_per_group_; ++p) {
        float* panel = data_.get() + (g * panels_per_group_ + p) * depth * nr;
        const index c0 = g * group_out + p * nr, cols = std::min(nr, group_out - p * nr);
        for (index k = 0; k < depth; ++k)
          for (index j = 0; j < nr; ++j)
            panel[k * nr + j] = j < cols ? weight[(c0 + j) * depth + k] * (scale ? scale[c0 + j] : 1.0f) : 0.0f;
      }
  }

  bool empty() const noexcept { return !data_; }
  index out_channels() const noexcept { return out_; }
  index groups() const noexcept { return groups_; }
  index depth() const noexcept { return depth_; }
  index panels_per_group() const noexcept { return panels_per_group_; }
  index panels() const noexcept { return groups_ * panels_per_group_; }
  const float* panel(index p) const noexcept { return data_.get() + p * depth_ * nr; }

 private:
  index out_ = 0, groups_ = 0, depth_ = 0, panels_per_group_ = 0;
  AlignedArray<float> data_;
};

// What happens to each output element after the sum, in this order: + bias[channel],
// + residual (NCHW, the output's shape), activation. Any may be absent.
struct ConvEpilogue {
  const float* bias = nullptr;
  const float* residual = nullptr;
  Activation activation = Activation::none;
};

namespace detail {

// Cache blocking (mutable for tests):
//   block_bytes: input bytes one block of output rows may touch: the band of a padded
//     input stays in L2 (1 MB here) while every weight panel runs over it;
//   depth: depth steps per pass over a block's tiles. The panel's slice (depth·NR floats,
//     24 KB) stays in L1 (48 KB) for all the tiles of the block with the input lines it
//     meets; a whole 3×3×64 panel (73 KB) streamed from L2 past every tile and evicted
//     those lines (36% of peak against ~90%). Partial sums wait in a tile buffer (L2).
//   min_parallel_flops: below ~2 MFLOP a parallel region costs more than it saves.
struct ConvBlocking {
  index block_bytes = 256 * 1024;
  index depth = 192;
  double min_parallel_flops = 2e6;
};
inline ConvBlocking& conv_blocking() {
  static ConvBlocking b;
  return b;
}

// How one call is cut into work: blocks of output rows (or of positions, for a flat 1×1),
// chunks of channel panels, and what the kernel reads.
struct ConvPlan {
  index batch = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  bool flat = false;      // positions are one row of out_h·out_w (1×1, stride 1, no padding)
  bool band = false;      // the kernel reads padded bands copied from the input
  bool narrow = false;    // few output channels: the direct kernel (conv_narrow), positions in the lanes
  index pitch = 0;        // row stride of what the kernel reads
  index plane = 0;        // channel stride of what the kernel reads
  index band_width = 0;   // padded input width
  index block_rows = 0;   // output rows per block (row mode)
  index block_tiles = 0;  // tiles per block (flat mode)
  index blocks = 0;
  index tiles_per_row = 0;  // row mode: tiles across out_w; flat mode: tiles over all positions
  index chunks = 1;         // panel chunks per block
  index band_floats = 0;    // one thread's band
  index depth_block = 0;    // depth steps per pass over a block's tiles
  index tile_floats = 0;    // one thread's buffer of partial tiles (when the depth takes several passes)
  int threads = 1;

  index row_positions() const { return flat ? out_h * out_w : out_w; }
  // Tile t of a row of n positions cut into `tiles` balanced tiles: [begin, end).
  static index tile_begin(index n, index tiles, index t) { return n * t / tiles; }
};

inline index band_rows_in(const ConvParams& p, index out_rows) {
  return (out_rows - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1;
}

inline ConvPlan plan_conv(const ConvParams& p, index batch, index in_h, index in_w) {
  constexpr index MR = ConvTraits<kernel_arch>::mr;
  ConvPlan plan;
  plan.batch = batch;
  plan.in_h = in_h;
  plan.in_w = in_w;
  plan.out_h = p.out_h(in_h);
  plan.out_w = p.out_w(in_w);
  const index positions = plan.out_h * plan.out_w;
  plan.flat = !p.padded() && p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1;
  plan.band_width = in_w + p.pad_left + p.pad_right;
  // 32-bit offsets reach any channel of the map read in place; bands keep larger maps in
  // reach (their planes are a few rows).
  const bool fits_offsets = checked_mul(p.group_in(), checked_mul(in_h, in_w, "conv2d"), "conv2d") <
                            std::numeric_limits<std::int32_t>::max() / 2;
  plan.band = p.padded() || (!fits_offsets && !plan.flat);
  plan.narrow = !plan.flat && p.groups == 1 && p.out_channels <= narrow_channels && p.stride_w == 1;
  if (!fits_offsets && plan.flat)
    throw ResourceError("conv2d: a " + std::to_string(in_h) + "×" + std::to_string(in_w) + " map of " +
                        std::to_string(p.group_in()) + " channels per group is too large for one 1×1 convolution");
  const index budget = conv_blocking().block_bytes / static_cast<index>(sizeof(float));

  const double work = static_cast<double>(batch) * p.flops(plan.out_h, plan.out_w);
  plan.threads = work < conv_blocking().min_parallel_flops ? 1 : std::max(1, num_threads());
  const index panels = p.groups * ((p.group_out() + PackedConvWeights::nr - 1) / PackedConvWeights::nr);

  if (plan.flat) {
    plan.tiles_per_row = (positions + MR - 1) / MR;
    plan.pitch = in_w;
    plan.plane = in_h * in_w;
    // Positions whose input (every channel) fits the budget.
    const index tiles_in_budget = std::max<index>(1, budget / std::max<index>(1, MR * p.in_channels));
    index blocks = (plan.tiles_per_row + tiles_in_budget - 1) / tiles_in_budget;
    if (plan.threads > 1) blocks = (blocks + plan.threads - 1) / plan.threads * plan.threads;
    blocks = std::min(blocks, plan.tiles_per_row);
    plan.block_tiles = (plan.tiles_per_row + blocks - 1) / blocks;
    plan.blocks = (plan.tiles_per_row + plan.block_tiles - 1) / plan.block_tiles;
  } else {
    plan.tiles_per_row = (plan.out_w + MR - 1) / MR;
    const index row_floats = p.in_channels * (plan.band ? plan.band_width : in_w);
    index rows = 1;
    while (rows < plan.out_h && band_rows_in(p, rows + 1) * row_floats <= budget) ++rows;
    index blocks = (plan.out_h + rows - 1) / rows;
    if (plan.threads > 1 && batch * blocks < plan.threads && panels >= plan.threads) {
      plan.chunks = plan.threads;  // one block of rows: the threads split the channel panels
    } else if (plan.threads > 1 && batch * blocks < 4 * plan.threads) {
      // Few blocks: as many per thread, so that none waits for another.
      while ((batch * blocks) % plan.threads != 0 && blocks < plan.out_h) ++blocks;
    }
    plan.block_rows = (plan.out_h + blocks - 1) / blocks;
    plan.blocks = (plan.out_h + plan.block_rows - 1) / plan.block_rows;
    if (plan.band) {
      plan.pitch = plan.band_width;
      plan.plane = band_rows_in(p, plan.block_rows) * plan.band_width;
      plan.band_floats = checked_mul(p.in_channels, plan.plane, "conv2d band");
      if (checked_mul(p.group_in(), plan.plane, "conv2d band") >= std::numeric_limits<std::int32_t>::max() / 2)
        throw ResourceError("conv2d: input rows of " + std::to_string(plan.band_width) + " values and " +
                            std::to_string(p.group_in()) + " channels per group are too large for the kernel's offsets");
    } else {
      plan.pitch = in_w;
      plan.plane = in_h * in_w;
    }
  }
  plan.depth_block = std::max<index>(1, std::min(p.depth(), conv_blocking().depth));
  if (plan.depth_block < p.depth() && !plan.narrow) {
    const index tiles = plan.flat ? plan.block_tiles : plan.block_rows * plan.tiles_per_row;
    plan.tile_floats = checked_mul(tiles, ConvTraits<kernel_arch>::tile_rows * PackedConvWeights::nr, "conv2d tiles");
  }
  plan.band_floats = (plan.band_floats + 15) / 16 * 16;  // the tile buffer after it stays aligned
  return plan;
}

// Offsets of the depth steps k = (c, ky, kx), in torch's weight order, in what the kernel reads.
inline void conv_offsets(const ConvParams& p, const ConvPlan& plan, std::int32_t* offsets) {
  index k = 0;
  for (index c = 0; c < p.group_in(); ++c)
    for (index ky = 0; ky < p.kernel_h; ++ky)
      for (index kx = 0; kx < p.kernel_w; ++kx)
        offsets[k++] = static_cast<std::int32_t>(c * plan.plane + ky * p.dilation_h * plan.pitch + kx * p.dilation_w);
}

// One padded row: input row `row` (w values; null for a row of zeros) with pad_left and
// pad_right values made by the padding mode, into out.
inline void fill_padded_row(PaddingMode mode, const float* row, index w, index pad_left, index pad_right, float* out) {
  if (!row) {
    std::fill_n(out, pad_left + w + pad_right, 0.0f);
    return;
  }
  for (index j = 0; j < pad_left; ++j) {
    const index ix = padded_source(mode, j - pad_left, w);
    out[j] = ix < 0 ? 0.0f : row[ix];
  }
  std::copy_n(row, w, out + pad_left);
  for (index j = 0; j < pad_right; ++j) {
    const index ix = padded_source(mode, w + j, w);
    out[pad_left + w + j] = ix < 0 ? 0.0f : row[ix];
  }
}

// Copies the padded input rows that output rows [r0, r1) read, channels [c0, c1), into
// band (channel c at band + (c − c0)·plane).
inline void fill_band(const ConvParams& p, const ConvPlan& plan, const float* x, index r0, index r1, index c0,
                      index c1, float* band) {
  const index rows = band_rows_in(p, r1 - r0), w = plan.in_w;
  const index first = r0 * p.stride_h - p.pad_top;  // input row of the band's first row
  for (index c = c0; c < c1; ++c) {
    const float* src = x + c * plan.in_h * w;
    float* dst = band + (c - c0) * plan.plane;
    for (index r = 0; r < rows; ++r) {
      const index iy = padded_source(p.padding_mode, first + r, plan.in_h);
      fill_padded_row(p.padding_mode, iy < 0 ? nullptr : src + iy * w, w, p.pad_left, p.pad_right,
                      dst + r * plan.band_width);
    }
  }
}

}  // namespace detail

// Scratch one conv2d call needs: int32 offsets and floats (bands), each ≥ 1.
struct ConvScratchSize {
  index offsets = 1, floats = 1;
};
inline ConvScratchSize conv2d_scratch(const ConvParams& p, index batch, index in_h, index in_w) {
  const detail::ConvPlan plan = detail::plan_conv(p, batch, in_h, in_w);
  // + 16: room to align the tile buffers to 64 bytes (the transposing store loads aligned).
  return {std::max<index>(1, p.depth()),
          checked_add(checked_mul(checked_add(plan.band_floats, plan.tile_floats, "conv2d"), plan.threads, "conv2d"),
                      16, "conv2d")};
}

// y[N × Out × OH × OW] = epilogue(conv(x[N × In × H × W], w)). The caller has checked
// that OH and OW are positive and that the padding mode's bounds hold (reflect: pad < size;
// circular: pad ≤ size). Scratch as conv2d_scratch says.
inline void conv2d(const ConvParams& p, const float* x, index batch, index in_h, index in_w, const PackedConvWeights& w,
                   float* y, const ConvEpilogue& ep, std::int32_t* offsets, float* scratch) {
  using Arch = detail::kernel_arch;
  constexpr index NR = PackedConvWeights::nr;
  const detail::ConvPlan plan = detail::plan_conv(p, batch, in_h, in_w);
  if (plan.out_h <= 0 || plan.out_w <= 0 || batch <= 0) return;
  detail::conv_offsets(p, plan, offsets);
  const index K = p.depth(), in_g = p.group_in(), out_g = p.group_out();
  const index P = plan.out_h * plan.out_w, in_image = p.in_channels * in_h * in_w, out_image = p.out_channels * P;
  const index ppg = w.panels_per_group(), panels = w.panels();
  const index units = batch * plan.blocks * plan.chunks;

  auto run_unit = [&](index u, float* band, float* partial) {
    const index chunk = u % plan.chunks, block = (u / plan.chunks) % plan.blocks, n = u / (plan.chunks * plan.blocks);
    const index q0 = panels * chunk / plan.chunks, q1 = panels * (chunk + 1) / plan.chunks;
    if (q0 >= q1) return;
    const float* xn = x + n * in_image;
    float* yn = y + n * out_image;
    const float* rn = ep.residual ? ep.residual + n * out_image : nullptr;
    alignas(64) float single[detail::ConvTraits<Arch>::tile_rows * NR];

    // Row mode: output rows [r0, r1); flat mode: tiles [t0, t1) of the one long row.
    const index r0 = plan.flat ? 0 : block * plan.block_rows, r1 = plan.flat ? 1 : std::min(plan.out_h, r0 + plan.block_rows);
    const index t0 = plan.flat ? block * plan.block_tiles : 0;
    const index t1 = plan.flat ? std::min(plan.tiles_per_row, t0 + plan.block_tiles) : plan.tiles_per_row;
    const index g0 = q0 / ppg, g1 = (q1 - 1) / ppg + 1;
    const float* source;  // what the kernel reads, at channel g0·In_g, output row r0
    if (plan.band) {
      detail::fill_band(p, plan, xn, r0, r1, g0 * in_g, g1 * in_g, band);
      source = band;
    } else {
      source = xn + g0 * in_g * plan.plane + r0 * p.stride_h * plan.pitch;
    }
    if (plan.narrow) {  // one group, one panel: every channel of the rows at once
      for (index oy = r0; oy < r1; ++oy)
        detail::conv_narrow<Arch>(static_cast<int>(p.out_channels), plan.out_w, K,
                                  source + (oy - r0) * p.stride_h * plan.pitch, offsets, w.panel(0), NR,
                                  yn + oy * plan.out_w, P, ep.bias, rn ? rn + oy * plan.out_w : nullptr, ep.activation);
      return;
    }
    const index row_n = plan.row_positions();
    for (index q = q0; q < q1; ++q) {
      const index g = q / ppg;
      const index c0 = g * out_g + (q % ppg) * NR;
      const int cols = static_cast<int>(std::min(NR, (g + 1) * out_g - c0));
      const float* panel = w.panel(q);
      const float* group_source = source + (g - g0) * in_g * plan.plane;
      detail::ConvTileEpilogue te{ep.bias ? ep.bias + c0 : nullptr, nullptr, P, ep.activation};
      // Depth in passes over every tile of the block; a tile's partial sums wait in its
      // slot of `partial` between passes (one pass: no slots).
      for (index kb = 0; kb < K; kb += plan.depth_block) {
        const index kc = std::min(plan.depth_block, K - kb);
        const bool last = kb + kc >= K;
        index slot = 0;
        for (index oy = r0; oy < r1; ++oy) {
          const float* row_source = group_source + (oy - r0) * p.stride_h * plan.pitch;
          for (index t = t0; t < t1; ++t, ++slot) {
            const index ox0 = detail::ConvPlan::tile_begin(row_n, plan.tiles_per_row, t);
            const index ox1 = detail::ConvPlan::tile_begin(row_n, plan.tiles_per_row, t + 1);
            const int rows = static_cast<int>(ox1 - ox0);
            float* tile = kc == K ? single : partial + slot * detail::ConvTraits<Arch>::tile_rows * NR;
            detail::conv_tile<Arch>(rows, kc, row_source + ox0 * p.stride_w, p.stride_w, offsets + kb,
                                    panel + kb * NR, tile, kb > 0);
            if (!last) continue;
            const index at = c0 * P + oy * plan.out_w + ox0;  // flat: oy = 0 and ox0 is the position
            te.residual = rn ? rn + at : nullptr;
            detail::store_tile_transposed<Arch>(tile, rows, cols, yn + at, P, te);
          }
        }
      }
    }
  };

  const index per_thread = plan.band_floats + plan.tile_floats;  // a multiple of 16 floats
  scratch += (64 - reinterpret_cast<std::uintptr_t>(scratch) % 64) % 64 / sizeof(float);
  if (plan.threads <= 1 || units == 1) {
    for (index u = 0; u < units; ++u) run_unit(u, scratch, scratch + plan.band_floats);
    return;
  }
  parallel_team(plan.threads, [&](const Team& team) {
    float* mine = scratch + team.rank() * per_thread;
    const index begin = units * team.rank() / team.size(), end = units * (team.rank() + 1) / team.size();
    for (index u = begin; u < end; ++u) run_unit(u, mine, mine + plan.band_floats);
  });
}

}  // namespace mmm::kernels
