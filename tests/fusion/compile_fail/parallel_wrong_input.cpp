// Must not compile: the text branch takes Tokens, the call gives it a Feat<6>; the error
// names the branch and what it was given.
// Only the headers it needs: a compile-fail test pays for every header it parses.
#include "mmm/compose/fork.hpp"
#include "mmm/compose/parallel.hpp"
#include "mmm/layers/activation.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/flatten.hpp"
#include "mmm/layers/fusion.hpp"
#include "mmm/layers/gated_fusion.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/pooling.hpp"

using P = mmm::Parallel<mmm::Linear<4, 6>, mmm::Embedding<11, 6>>;
void call(const P& branches, const mmm::Feat<4>& a, const mmm::Feat<6>& b) {
  mmm::Workspace ws;
  (void)branches(a, b, ws);
}
