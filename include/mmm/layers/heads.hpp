#pragma once
// SoftmaxHead<In, Classes>: class probabilities, softmax(x·Wᵀ + b) over the last dimension —
// nn.Linear(In, Classes) followed by nn.Softmax(dim=-1). Its parameters are the Linear's
// ("weight" [Classes, In], "bias" [Classes]), so a torch model whose last layer is that
// Linear (trained on its logits with cross-entropy) loads as is.
//
// On Feat<In> (one row per item: classification) or Seq<In> (one row per step: a
// vocabulary per step), giving the same kind of Classes:
//   forward / probabilities(x, ws, T)   softmax(logits / T), T = 1 unless given
//   log_probabilities(x, ws, T)         log_softmax(logits / T), as F.log_softmax
//   logits(x, ws)                       x·Wᵀ + b
// and reading answers out of any of them (every row, or one):
//   top_k(scores, k, ws)                the k largest of every row with their classes (TopK)
//   argmax(scores, row), top_k(scores, k, row)   one row, as ClassScore
// A temperature must be positive and finite, k in [1, Classes]: RangeError otherwise.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/kernels/select.hpp"
#include "mmm/layers/linear.hpp"

namespace mmm {

// A class and its probability.
struct ClassScore {
  index label = 0;
  float probability = 0;
};

// The k best classes of every row of some scores (probabilities, logits, log-probabilities),
// best first (equal scores: lower class first), viewing memory in a Workspace.
struct TopK {
  const float* values = nullptr;          // rows × k
  const std::int32_t* classes = nullptr;  // rows × k
  index rows = 0, k = 0;

  float value(index row, index j) const noexcept { return values[row * k + j]; }
  std::int32_t label(index row, index j) const noexcept { return classes[row * k + j]; }
};

template <index In, index Classes>
class SoftmaxHead : public ModuleBase<SoftmaxHead<In, Classes>, Rows<In, Classes>> {
  using Projection = Linear<In, Classes>;

 public:
  static constexpr index in_features = In;
  static constexpr index classes = Classes;

  static std::string name() { return "SoftmaxHead<" + std::to_string(In) + ", " + std::to_string(Classes) + ">"; }

  static void parameters(auto& self, auto&& p) { p(self.projection_); }

  Tensor& weight() noexcept { return projection_.weight(); }
  Tensor& bias() noexcept { return projection_.bias(); }

  template <RowKindOf<In> K>
  with_last_dim_t<K, Classes> forward(const K& x, Workspace& ws) const {
    return probabilities(x, ws);
  }

  template <RowKindOf<In> K>
  with_last_dim_t<K, Classes> logits(const K& x, Workspace& ws) const {
    return projection_.forward(x, ws);
  }

  template <RowKindOf<In> K>
  with_last_dim_t<K, Classes> probabilities(const K& x, Workspace& ws, float temperature = 1.0f) const {
    check_temperature(temperature);
    const with_last_dim_t<K, Classes> z = projection_.forward(x, ws);
    // In place: the logits are this call's own output.
    float* p = const_cast<float*>(z.data);
    if (temperature == 1.0f) kernels::softmax(p, p, z.rows(), Classes);
    else kernels::scaled_softmax(p, p, z.rows(), Classes, 1.0f / temperature);
    return z;
  }

  template <RowKindOf<In> K>
  with_last_dim_t<K, Classes> log_probabilities(const K& x, Workspace& ws, float temperature = 1.0f) const {
    check_temperature(temperature);
    const with_last_dim_t<K, Classes> z = projection_.forward(x, ws);
    float* p = const_cast<float*>(z.data);
    if (temperature != 1.0f) kernels::scale(p, 1.0f / temperature, p, z.numel());
    kernels::log_softmax(p, p, z.rows(), Classes);
    return z;
  }

  // The k largest scores of every row with their classes, from the Workspace.
  template <class K>
    requires RowKindOf<K, Classes>
  static TopK top_k(const K& scores, index k, Workspace& ws) {
    if (k < 1 || k > Classes)
      throw RangeError(name() + ": top_k needs k in [1, " + std::to_string(Classes) + "], got " + std::to_string(k));
    const index rows = scores.rows();
    float* values = ws.allocate<float>(checked_mul(rows, k, "SoftmaxHead::top_k"));
    std::int32_t* classes = ws.allocate<std::int32_t>(rows * k);
    for (index r = 0; r < rows; ++r)
      kernels::top_k(scores.data + r * Classes, Classes, k, values + r * k, classes + r * k);
    return {values, classes, rows, k};
  }

  // The most probable class of row `row` (a batch item of a Feat, or a step of a Seq).
  template <class K>
    requires RowKindOf<K, Classes>
  static ClassScore argmax(const K& probabilities, index row = 0) {
    const float* p = row_of(probabilities, row);
    const index best = kernels::argmax(p, Classes);
    return {best, p[best]};
  }

  // The k most probable classes of row `row`, most probable first (ties: lower label first).
  template <class K>
    requires RowKindOf<K, Classes>
  static std::vector<ClassScore> top_k(const K& probabilities, index k, index row = 0) {
    const float* p = row_of(probabilities, row);
    std::vector<ClassScore> all(static_cast<std::size_t>(Classes));
    for (index c = 0; c < Classes; ++c) all[static_cast<std::size_t>(c)] = {c, p[c]};
    const auto n = static_cast<std::size_t>(std::clamp<index>(k, 0, Classes));
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                      [](const ClassScore& a, const ClassScore& b) {
                        return a.probability != b.probability ? a.probability > b.probability : a.label < b.label;
                      });
    all.resize(n);
    return all;
  }

 private:
  static void check_temperature(float temperature) {
    if (!(temperature > 0.0f) || !std::isfinite(temperature))
      throw RangeError(name() + ": the temperature must be positive and finite, got " + std::to_string(temperature));
  }

  template <class K>
  static const float* row_of(const K& probabilities, index row) {
    if (row < 0 || row >= probabilities.rows())
      throw RangeError(name() + ": row " + std::to_string(row) + " is outside the " +
                       std::to_string(probabilities.rows()) + " rows of the probabilities");
    return probabilities.data + row * Classes;
  }

  Projection projection_;
};

}  // namespace mmm
