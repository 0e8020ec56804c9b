// Must not compile: no input fits both branches of the Fork (a Linear<4, 8> takes Feat<4> or
// Seq<4>, an Embedding takes Tokens); the error names branch 1 and what it needs.
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

mmm::Fork<mmm::Linear<4, 8>, mmm::Embedding<10, 8>> two_branches;  // NOLINT: the definition is the test
