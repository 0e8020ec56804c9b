// Parity with PyTorch for LayerNorm and RMSNorm (oracle: norm.py).
#include <catch2/catch.hpp>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {
template <class M, class Kind>
void check(const char* name) {
  OracleCase c(name);
  M m;
  c.load_model(m);
  const Tensor x = c.input("x");
  Workspace ws;
  require_close(m(Kind(x), ws).to_tensor(), c.output("y"), 1e-4, name);
}
}  // namespace

TEST_CASE("LayerNorm matches nn.LayerNorm") {
  check<LayerNorm<37>, Feat<37>>("layer_norm_37");
  check<LayerNorm<72, Norm{.eps = 1e-6f}>, Seq<72>>("layer_norm_72_seq");
  check<LayerNorm<37, Norm{.affine = false}>, Feat<37>>("layer_norm_37_plain");
}

TEST_CASE("RMSNorm matches LLaMA's RMSNorm") {
  check<RMSNorm<37>, Feat<37>>("rms_norm_37");
  check<RMSNorm<72, Norm{.eps = 1e-6f}>, Seq<72>>("rms_norm_72_seq");
  check<RMSNorm<37, Norm{.affine = false}>, Feat<37>>("rms_norm_37_plain");
}

TEST_CASE("norms name themselves with their options and list torch's parameter names") {
  CHECK(LayerNorm<8>::name() == "LayerNorm<8>");
  CHECK(RMSNorm<8, Norm{.eps = 1e-6f, .affine = false}>::name() == "RMSNorm<8, eps 0.000001, no affine>");
  LayerNorm<8> ln;
  RMSNorm<8, Norm{.affine = false}> plain;
  CHECK(state_dict(ln).size() == 2);
  CHECK(state_dict(ln)[1].first == "bias");
  CHECK(state_dict(plain).empty());
}
