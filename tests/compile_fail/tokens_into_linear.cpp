// Must not compile: Linear takes rows of features, not token ids.
#include "mmm/pipeline.hpp"

void call(const mmm::Sequential<mmm::Linear<8, 4>, mmm::ReLU>& model, const mmm::Tokens& tokens) {
  mmm::Workspace ws;
  (void)model(tokens, ws);
}
