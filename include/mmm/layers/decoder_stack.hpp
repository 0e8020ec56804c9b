#pragma once
// What the transformer stacks share (TransformerEncoder/Decoder, GPT2, Llama): an optional
// final norm, and one decoder step through every layer with a KVCache — begin the step
// (capacity checked before anything changes), each layer's step in turn (each frees what
// the one before it no longer needs), commit.

#include <iterator>
#include <string>
#include <type_traits>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/generate/kv_cache.hpp"

namespace mmm::detail {

// ", <the norm's name>" for a stack's name, or nothing without one.
template <class FinalNorm>
std::string final_norm_suffix() {
  if constexpr (std::is_void_v<FinalNorm>)
    return "";
  else
    return ", " + FinalNorm::name();
}

// A stack's final norm, or nothing (FinalNorm = void).
struct NoNorm {};
template <class FinalNorm>
using OptionalNorm = std::conditional_t<std::is_void_v<FinalNorm>, NoNorm, FinalNorm>;

template <class Norm, class K>
K final_norm(const Norm& norm, const K& y, Workspace& ws, Workspace::Mark start) {
  if constexpr (std::is_same_v<Norm, NoNorm>) {
    return y;
  } else {
    const K z = norm.forward(y, ws);
    ws.release_except(start, z);
    return z;
  }
}

// x (row b: its first valid_length(b) steps are new positions) through every layer's
// step(x, cache, layer, ws), then finish(y, ws, start) (a final norm, a head). One team of
// threads stands by for the whole step (with_team): a token's step is some twenty short
// parallel products, each of which would otherwise wake OpenMP's sleeping workers. A
// transformer layer holds ~12·D² weights, its largest product 4·D² of them.
template <class Layers, index D, class Finish>
auto step_layers(const Layers& layers, const Seq<D>& x, KVCache& cache, Workspace& ws, std::string (*who)(),
                 Finish&& finish) {
  const double per_row = 12.0 * D * D * static_cast<double>(std::size(layers));
  const int threads = team_threads(per_row * static_cast<double>(x.rows()), 4.0 * D * D * sizeof(float));
  return with_team(threads, [&] {
    cache.begin_step(x.lengths, x.batch, x.length, who);
    const Workspace::Mark start = ws.mark();
    Seq<D> y = x;
    index i = 0;
    for (const auto& layer : layers) {
      y = layer.step(y, cache, i++, ws);
      ws.release_except(start, y);
    }
    cache.commit_step();
    return finish(y, ws, start);
  });
}

}  // namespace mmm::detail
