// Must not compile: the text branch takes Tokens, the call gives it a Feat<6>; the error
// names the branch and what it was given.
#include "mmm/pipeline.hpp"

using P = mmm::Parallel<mmm::Linear<4, 6>, mmm::Embedding<11, 6>>;
void call(const P& branches, const mmm::Feat<4>& a, const mmm::Feat<6>& b) {
  mmm::Workspace ws;
  (void)branches(a, b, ws);
}
