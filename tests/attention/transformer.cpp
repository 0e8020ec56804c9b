// The transformer layers and stacks against torch.nn's, the feed-forward variants, positional
// encodings and the ViT patch embedding (oracle: transformer_oracle.py; comparison: parity.hpp).
#include <catch2/catch.hpp>

#include <vector>

#include "mmm/layers/feed_forward.hpp"
#include "mmm/layers/patch_embed.hpp"
#include "mmm/layers/positional.hpp"
#include "mmm/layers/transformer.hpp"
#include "parity.hpp"
#include "support/oracle.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_parity;

namespace {
constexpr Index D = 72, H = 6, FFDim = 100, T = 37;

std::vector<std::int32_t> ints(const OracleCase& c, const char* name) {
  const IntTensor t = c.int_input(name);
  return {t.span().begin(), t.span().end()};
}

template <class M>
M& loaded(const OracleCase& c) {
  static M m;
  c.load_model(m);
  return m;
}

// torch's causal tgt_mask/src_mask: True above the diagonal.
std::vector<std::uint8_t> causal_mask(Index n) {
  std::vector<std::uint8_t> m(static_cast<std::size_t>(n * n));
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) m[static_cast<std::size_t>(i * n + j)] = j > i;
  return m;
}
}  // namespace

TEST_CASE("TransformerEncoderLayer matches torch's, both norm orders", "[transformer][parity]") {
  {
    OracleCase c("encoder_post_relu");  // src_key_padding_mask from the lengths
    const auto& m = loaded<TransformerEncoderLayer<D, H, FFDim>>(c);
    const Tensor x = c.input("x");
    const auto lengths = ints(c, "lengths");
    Workspace ws;
    require_parity(m(Seq<D>(x, lengths.data()), ws).to_tensor(), c.output("y"), "encoder_post_relu");
  }
  {
    OracleCase c("encoder_pre_gelu");  // src_mask: causal
    using Layer = TransformerEncoderLayer<D, H, FFDim, Layer{.activation = kernels::Activation::gelu, .norm_first = true, .eps = 1e-6f}>;
    const auto& m = loaded<Layer>(c);
    const Tensor x = c.input("x");
    Workspace ws;
    AttentionOptions causal;
    causal.is_causal = true;
    require_parity(m.forward(Seq<D>(x), causal, ws).to_tensor(), c.output("y"), "encoder_pre_gelu (is_causal)");
    const auto mask = causal_mask(T);
    AttentionOptions masked;
    masked.attn_mask.blocked = {mask.data(), Shape{T, T}};
    require_parity(m.forward(Seq<D>(x), masked, ws).to_tensor(), c.output("y"), "encoder_pre_gelu (src_mask)");
  }
}

TEST_CASE("TransformerEncoder stacks layers with torch's names and a final norm", "[transformer][parity]") {
  OracleCase c("encoder_stack");
  using Stack = TransformerEncoder<TransformerEncoderLayer<D, H, FFDim, Layer{.norm_first = true}>, 2, LayerNorm<D>>;
  const auto& m = loaded<Stack>(c);
  const Tensor x = c.input("x");
  const auto lengths = ints(c, "lengths");
  Workspace ws;
  AttentionOptions causal;
  causal.is_causal = true;
  require_parity(m.forward(Seq<D>(x, lengths.data()), causal, ws).to_tensor(), c.output("y"), "encoder_stack");
  CHECK(state_dict(m).front().first == "layers.0.self_attn.in_proj_weight");
  CHECK(state_dict(m).back().first == "norm.bias");
}

TEST_CASE("TransformerDecoderLayer matches torch's, both norm orders, every mask", "[transformer][parity]") {
  auto check = [](auto tag, const char* name) {
    using M = typename decltype(tag)::type;
    OracleCase c(name);
    const M& m = loaded<M>(c);
    const Tensor x = c.input("x"), memory = c.input("memory"), memory_mask = c.input("memory_mask");
    const auto lengths = ints(c, "lengths"), memory_lengths = ints(c, "memory_lengths");
    DecoderMasks masks;
    masks.tgt.is_causal = true;
    masks.memory.attn_mask.added = memory_mask;
    Workspace ws;
    const Seq<D> y = m.forward(Seq<D>(x, lengths.data()), Seq<D>(memory, memory_lengths.data()), masks, ws);
    require_parity(y.to_tensor(), c.output("y"), name);
  };
  check(std::type_identity<TransformerDecoderLayer<D, H, FFDim>>{}, "decoder_post_relu");
  check(std::type_identity<TransformerDecoderLayer<D, H, FFDim, Layer{.activation = kernels::Activation::gelu,
                                                                       .norm_first = true, .eps = 1e-6f}>>{},
        "decoder_pre_gelu");
}

TEST_CASE("TransformerDecoder matches torch's, and its steps its full forward", "[transformer][parity]") {
  auto check = [](auto tag, const char* name) {
    using M = typename decltype(tag)::type;
    OracleCase c(name);
    const M& m = loaded<M>(c);
    const Tensor x = c.input("x"), memory = c.input("memory");
    const auto memory_lengths = ints(c, "memory_lengths");
    const Seq<D> mem(memory, memory_lengths.data());
    Workspace ws;
    require_parity(m(Branches<Seq<D>, Seq<D>>(Seq<D>(x), mem), ws).to_tensor(), c.output("y"),
                   std::string(name) + " (causal layers)");
    // Incremental: a prompt of 5, then one position at a time, against torch's full forward.
    KVCache cache = m.make_cache(3, T, 53);
    m.set_memory(mem, cache, ws);
    Tensor steps(Shape{3, T, D});
    for (Index t0 = 0; t0 < T;) {
      const Index n = t0 == 0 ? 5 : 1;
      Tensor chunk(Shape{3, n, D});
      for (Index b = 0; b < 3; ++b) std::copy_n(x.data() + (b * T + t0) * D, n * D, chunk.data() + b * n * D);
      const Seq<D> y = m.step(Seq<D>(chunk), cache, ws);
      for (Index b = 0; b < 3; ++b) std::copy_n(y.data + b * n * D, n * D, steps.data() + (b * T + t0) * D);
      t0 += n;
    }
    require_parity(steps, c.output("y"), std::string(name) + " step by step");
  };
  check(std::type_identity<TransformerDecoder<TransformerDecoderLayer<D, H, FFDim, Layer{.causal = true}>, 2>>{},
        "decoder_stack_post");
  check(std::type_identity<TransformerDecoder<TransformerDecoderLayer<D, H, FFDim, Layer{.norm_first = true, .causal = true}>, 2,
                                              LayerNorm<D>>>{},
        "decoder_stack_pre");
}

TEST_CASE("FeedForward: ReLU, GELU, GELU-tanh (torch and GPT-2 names) and SwiGLU", "[transformer][parity]") {
  using kernels::Activation;
  auto check = [](auto tag, const char* name) {
    using M = typename decltype(tag)::type;
    OracleCase c(name);
    const M& m = loaded<M>(c);
    const Tensor x = c.input("x");
    Workspace ws;
    require_parity(m(Seq<D>(x), ws).to_tensor(), c.output("y"), name);
  };
  check(std::type_identity<FeedForward<D, FFDim>>{}, "ff_relu");
  check(std::type_identity<FeedForward<D, FFDim, FF{.activation = Activation::gelu}>>{}, "ff_gelu");
  check(std::type_identity<FeedForward<D, FFDim, FF{.activation = Activation::gelu_tanh}>>{}, "ff_gelu_tanh");
  check(std::type_identity<FeedForward<D, 4 * D, FF{.activation = Activation::gelu_tanh, .names = FFNames::gpt2}>>{},
        "ff_gpt2");
  check(std::type_identity<FeedForward<D, FFDim, FF{.activation = Activation::silu, .gated = true, .bias = false,
                                                    .names = FFNames::llama}>>{},
        "ff_swiglu");
}

TEST_CASE("Sinusoidal and learned positions", "[transformer][parity]") {
  Workspace ws;
  {
    OracleCase c("sinusoidal");
    static SinusoidalPositions<D, 64> pe;
    const Tensor x = c.input("x");
    require_parity(pe(Seq<D>(x), ws).to_tensor(), c.output("y"), "sinusoidal");
    const std::int32_t offsets[3] = {60, 0, 0};  // 60 + 37 steps: past the 64 positions
    CHECK_THROWS_AS(pe.forward_at(Seq<D>(x), offsets, nullptr, ws), RangeError);
  }
  {
    OracleCase c("learned");
    const auto& m = loaded<LearnedPositions<64, D>>(c);
    const Tensor x = c.input("x");
    require_parity(m(Seq<D>(x), ws).to_tensor(), c.output("y"), "learned");
  }
}

TEST_CASE("PatchEmbedding matches a ViT's conv patches, class token and positions", "[transformer][parity]") {
  Workspace ws;
  {
    OracleCase c("patch_embed");
    const auto& m = loaded<PatchEmbedding<3, D, Patches{.size = 8, .image = 40}>>(c);
    const Tensor image = c.input("image");
    const Seq<D> y = m(Map<3>(image), ws);
    CHECK(y.length == 26);
    require_parity(y.to_tensor(), c.output("y"), "patch_embed");
    Tensor wrong(Shape{1, 3, 32, 40});
    try {
      (void)m(Map<3>(wrong), ws);
      FAIL("no error for a 32×40 image");
    } catch (const ShapeError& e) {
      CHECK(std::string(e.what()).find("PatchEmbedding<3, 72, patch 8, image 40>: the image is 32×40") != std::string::npos);
    }
  }
  {
    OracleCase c("patch_embed_plain");
    const auto& m = loaded<PatchEmbedding<3, D, Patches{.size = 8, .image = 40, .class_token = false, .positions = false}>>(c);
    const Tensor image = c.input("image");
    require_parity(m(Map<3>(image), ws).to_tensor(), c.output("y"), "patch_embed_plain");
  }
}

TEST_CASE("transformer layers name themselves and their parameters as torch", "[transformer]") {
  TransformerDecoderLayer<8, 2, 16> layer;
  std::vector<std::string> names;
  for (const auto& [name, tensor] : state_dict(layer)) names.push_back(name);
  CHECK(names == std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                                          "self_attn.out_proj.bias", "multihead_attn.in_proj_weight",
                                          "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight",
                                          "multihead_attn.out_proj.bias", "linear1.weight", "linear1.bias",
                                          "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight",
                                          "norm2.bias", "norm3.weight", "norm3.bias"});
  CHECK(TransformerEncoderLayer<512, 8, 2048, Layer{.activation = kernels::Activation::gelu, .norm_first = true}>::name() ==
        "TransformerEncoderLayer<512, 8, 2048, gelu, norm first>");
}
