// Parity with PyTorch for Linear, the activations, Softmax and Sequential (oracle: linear.py).
#include <catch2/catch.hpp>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;
using test::require_close_to_float64;

namespace {
template <class M>
Tensor run(M& model, const OracleCase& c, auto make_input) {
  c.load_model(model);
  const Tensor x = c.input("x");
  Workspace ws;
  return model(make_input(x), ws).to_tensor();
}
auto as_feat = [](const Tensor& x) { return Feat<37>(x); };
}  // namespace

TEST_CASE("Linear<37, 129> matches nn.Linear") {
  for (const char* name : {"linear_37_129", "linear_37_129_random_batch"}) {
    OracleCase c(name);
    Linear<37, 129> linear;
    require_close_to_float64(run(linear, c, as_feat), c, "y", 1e-4, name);
  }
}

TEST_CASE("Linear without bias on Seq matches nn.Linear(bias=False) on N×T×D") {
  OracleCase c("linear_seq_nobias");
  Linear<64, 17, false> linear;
  require_close_to_float64(run(linear, c, [](const Tensor& x) { return Seq<64>(x); }), c, "y", 1e-4,
                           "Linear<64,17,false>");
}

TEST_CASE("Linear<1, 1> matches nn.Linear(1, 1)") {
  OracleCase c("linear_1_1");
  Linear<1, 1> linear;
  require_close_to_float64(run(linear, c, [](const Tensor& x) { return Feat<1>(x); }), c, "y", 1e-4, "Linear<1,1>");
}

TEST_CASE("activations match torch.nn") {
  OracleCase c("activations");
  const Tensor x = c.input("x");
  const Feat<41> in(x);
  Workspace ws;
  require_close(ReLU{}(in, ws).to_tensor(), c.output("relu"), 1e-6, "ReLU");
  require_close(GELU{}(in, ws).to_tensor(), c.output("gelu"), 1e-4, "GELU");
  require_close(GELUTanh{}(in, ws).to_tensor(), c.output("gelu_tanh"), 1e-4, "GELUTanh");
  require_close(SiLU{}(in, ws).to_tensor(), c.output("silu"), 1e-4, "SiLU");
  require_close(Sigmoid{}(in, ws).to_tensor(), c.output("sigmoid"), 1e-4, "Sigmoid");
  require_close(Tanh{}(in, ws).to_tensor(), c.output("tanh"), 1e-4, "Tanh");
  require_close(Softmax{}(in, ws).to_tensor(), c.output("softmax"), 1e-4, "Softmax");
}

TEST_CASE("Softmax over Seq matches nn.Softmax(dim=-1)") {
  OracleCase c("softmax_seq");
  const Tensor x = c.input("x");
  Workspace ws;
  require_close(Softmax{}(Seq<41>(x), ws).to_tensor(), c.output("y"), 1e-4, "Softmax on Seq");
}

TEST_CASE("a Sequential MLP loads a torch state_dict and matches nn.Sequential") {
  OracleCase c("mlp");
  Sequential<Linear<37, 64>, ReLU, Linear<64, 129>, GELU, Linear<129, 10>, Tanh, Linear<10, 7>, Softmax> mlp;
  require_close_to_float64(run(mlp, c, as_feat), c, "y", 1e-4, "MLP");
}
