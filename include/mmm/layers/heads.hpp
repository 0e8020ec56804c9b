#pragma once
// SoftmaxHead<In, Classes>: class probabilities, softmax(x·Wᵀ + b) over the last dimension —
// nn.Linear(In, Classes) followed by nn.Softmax(dim=-1). Its parameters are the Linear's
// ("weight" [Classes, In], "bias" [Classes]), so a torch model whose last layer is that
// Linear (trained on its logits with cross-entropy) loads as is.
// argmax() and top_k() read the answer out of the probabilities it gives.

#include <algorithm>
#include <string>
#include <vector>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/layers/linear.hpp"

namespace mmm {

// A class and its probability.
struct ClassScore {
  index label = 0;
  float probability = 0;
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
    const with_last_dim_t<K, Classes> logits = projection_.forward(x, ws);
    // In place: the logits are this call's own scratch.
    float* p = const_cast<float*>(logits.data);
    kernels::softmax(p, p, logits.rows(), Classes);
    return logits;
  }

  // The most probable class of row `row` (a batch item of a Feat, or a step of a Seq).
  template <class K>
    requires RowKindOf<K, Classes>
  static ClassScore argmax(const K& probabilities, index row = 0) {
    const float* p = row_of(probabilities, row);
    const index best = static_cast<index>(std::max_element(p, p + Classes) - p);
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
