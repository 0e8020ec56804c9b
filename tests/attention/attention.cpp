// Attention against nn.MultiheadAttention and LLaMA's attention (oracle: attention_oracle.py;
// the comparison: parity.hpp);
// the tiled kernel against the materialized one and a float64 loop, on keys given as rows
// and in pages; 1×8192×512 self-attention in bounded scratch; bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <typeinfo>
#include <random>
#include <vector>

#include "mmm/kernels/attention.hpp"
#include "mmm/layers/attention.hpp"
#include "parity.hpp"
#include "support/oracle.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_parity;

namespace {
constexpr Index D = 72, H = 6;

// A boolean mask as the kernel reads it (nonzero: blocked), from torch's bool tensor.
struct BoolMask {
  std::vector<std::uint8_t> data;
  Shape shape;
  explicit BoolMask(const IntTensor& t) : data(t.span().begin(), t.span().end()), shape(t.shape()) {}
  TensorView<const std::uint8_t> view() const { return {data.data(), shape}; }
};

std::vector<std::int32_t> lengths_of(const OracleCase& c, const char* name = "lengths") {
  const IntTensor t = c.int_input(name);
  return {t.span().begin(), t.span().end()};
}

// Runs f, which must throw E with every one of `parts` in its message.
template <class E, class F>
void require_error(F&& f, std::initializer_list<const char*> parts) {
  try {
    f();
  } catch (const E& e) {
    INFO("message: " << e.what());
    for (const char* part : parts) CHECK(std::string(e.what()).find(part) != std::string::npos);
    return;
  }
  FAIL("no " << typeid(E).name() << " was thrown");
}

template <class M>
M& loaded(const OracleCase& c) {
  static M m;  // one per type: its weights are reloaded for each case
  c.load_model(m);
  return m;
}

template <class M>
void check_self(const char* name, const AttentionOptions& options = {}, const std::int32_t* lengths = nullptr,
                bool check_weights = false) {
  OracleCase c(name);
  const M& m = loaded<M>(c);
  const Tensor x = c.input("x");
  Workspace ws;
  const Seq<D> in(x, lengths);
  const Attended<D> out = m.attend(in, in, in, options, ws);
  require_parity(out.output.to_tensor(), c.output("y"), name);
  if (check_weights) require_parity(out.weights, c.output("w"), std::string(name) + " weights");
}
}  // namespace

TEST_CASE("Attention self-attention matches nn.MultiheadAttention", "[attention][parity]") {
  using MHA = Attention<D, H>;
  check_self<MHA>("self");
  {
    OracleCase c("self_lengths");
    const MHA& m = loaded<MHA>(c);
    const Tensor x = c.input("x");
    const auto lengths = lengths_of(c);
    Workspace ws;
    require_parity(m(Seq<D>(x, lengths.data()), ws).to_tensor(), c.output("y"), "self_lengths (Seq lengths)");
  }
  check_self<Attention<D, H, Attn{.bias = false}>>("self_no_bias");
}

TEST_CASE("Attention takes every kind of torch mask", "[attention][parity]") {
  using MHA = Attention<D, H>;
  {
    OracleCase c("self_kpm_bool");
    const BoolMask kpm(c.int_input("kpm"));
    AttentionOptions o;
    o.key_padding_mask.blocked = kpm.view();
    check_self<MHA>("self_kpm_bool", o);
  }
  {
    OracleCase c("self_kpm_float");
    const Tensor kpm = c.input("kpm");
    AttentionOptions o;
    o.key_padding_mask.added = kpm;
    check_self<MHA>("self_kpm_float", o);
  }
  {
    OracleCase c("self_mask_bool_2d");  // one query sees no key: NaN, as torch
    const BoolMask mask(c.int_input("mask"));
    AttentionOptions o;
    o.attn_mask.blocked = mask.view();
    check_self<MHA>("self_mask_bool_2d", o);
  }
  {
    OracleCase c("self_mask_float_3d");
    const Tensor mask = c.input("mask");
    AttentionOptions o;
    o.attn_mask.added = mask;
    check_self<MHA>("self_mask_float_3d", o);
  }
  {
    OracleCase c("self_mask_bool_3d_kpm");
    const BoolMask mask(c.int_input("mask")), kpm(c.int_input("kpm"));
    AttentionOptions o;
    o.attn_mask.blocked = mask.view();
    o.key_padding_mask.blocked = kpm.view();
    check_self<MHA>("self_mask_bool_3d_kpm", o);
  }
  {
    OracleCase c("self_causal_lengths");
    const auto lengths = lengths_of(c);
    AttentionOptions causal;
    causal.is_causal = true;
    check_self<MHA>("self_causal_lengths", causal, lengths.data());
    check_self<Attention<D, H, Attn{.causal = true}>>("self_causal_lengths", {}, lengths.data());
  }
  {
    OracleCase c("self_long_causal");  // several query blocks and key pages
    const auto lengths = lengths_of(c);
    check_self<Attention<D, H, Attn{.causal = true}>>("self_long_causal", {}, lengths.data());
  }
}

TEST_CASE("Attention gives the attention weights, averaged or per head", "[attention][parity]") {
  using MHA = Attention<D, H>;
  {
    OracleCase c("self_weights_averaged");
    const Tensor mask = c.input("mask");
    const auto lengths = lengths_of(c);
    AttentionOptions o;
    o.attn_mask.added = mask;
    o.need_weights = true;
    check_self<MHA>("self_weights_averaged", o, lengths.data(), true);
  }
  {
    OracleCase c("self_weights_per_head");
    const BoolMask mask(c.int_input("mask"));
    AttentionOptions o;
    o.attn_mask.blocked = mask.view();
    o.need_weights = true;
    o.average_attn_weights = false;
    check_self<MHA>("self_weights_per_head", o, nullptr, true);
  }
}

TEST_CASE("Attention cross-attends to a memory of another length", "[attention][parity]") {
  using MHA = Attention<D, H>;
  {
    OracleCase c("cross");
    const MHA& m = loaded<MHA>(c);
    const Tensor q = c.input("q"), memory = c.input("memory");
    const auto lengths = lengths_of(c);
    Workspace ws;
    const Seq<D> y = m(Branches<Seq<D>, Seq<D>>(Seq<D>(q), Seq<D>(memory, lengths.data())), ws);
    require_parity(y.to_tensor(), c.output("y"), "cross");
  }
  for (bool weights : {true, false}) {
    OracleCase c("cross_key_value");
    const MHA& m = loaded<MHA>(c);
    const Tensor q = c.input("q"), k = c.input("k"), v = c.input("v");
    const BoolMask mask(c.int_input("mask")), kpm(c.int_input("kpm"));
    AttentionOptions o;
    o.attn_mask.blocked = mask.view();
    o.key_padding_mask.blocked = kpm.view();
    o.need_weights = weights;
    Workspace ws;
    const Attended<D> out = m.attend(Seq<D>(q), Seq<D>(k), Seq<D>(v), o, ws);
    require_parity(out.output.to_tensor(), c.output("y"), "cross_key_value");
    if (weights) require_parity(out.weights, c.output("w"), "cross_key_value weights");
  }
  {
    OracleCase c("cross_kdim_vdim");
    using KV = Attention<D, H, Attn{.kdim = 40, .vdim = 24}>;
    const KV& m = loaded<KV>(c);
    const Tensor q = c.input("q"), k = c.input("k"), v = c.input("v");
    const auto lengths = lengths_of(c);
    Workspace ws;
    const Attended<D> out = m.attend(Seq<D>(q), Seq<40>(k, lengths.data()), Seq<24>(v, lengths.data()), {}, ws);
    require_parity(out.output.to_tensor(), c.output("y"), "cross_kdim_vdim");
    CHECK(state_dict(m)[0].first == "q_proj_weight");
  }
}

TEST_CASE("Attention does grouped-query attention and rotary embeddings as LLaMA's", "[attention][parity]") {
  constexpr Attn gqa{.kv_heads = 2, .bias = false, .causal = true, .names = AttnNames::llama};
  constexpr Attn rope{.kv_heads = 2, .bias = false, .causal = true, .rope = Rope{.theta = 10000.0f}, .names = AttnNames::llama};
  constexpr Attn interleaved{.kv_heads = 2, .bias = false, .causal = true,
                             .rope = Rope{.theta = 500.0f, .interleaved = true}, .names = AttnNames::llama};
  constexpr Attn biased{.kv_heads = 2, .names = AttnNames::llama};
  auto check = [](auto tag, const char* name) {
    using M = typename decltype(tag)::type;
    OracleCase c(name);
    const M& m = loaded<M>(c);
    const Tensor x = c.input("x");
    const auto lengths = lengths_of(c);
    Workspace ws;
    require_parity(m(Seq<D>(x, lengths.data()), ws).to_tensor(), c.output("y"), name);
  };
  check(std::type_identity<Attention<D, H, gqa>>{}, "gqa");
  check(std::type_identity<Attention<D, H, rope>>{}, "gqa_rope");
  check(std::type_identity<Attention<D, H, interleaved>>{}, "gqa_rope_interleaved");
  check(std::type_identity<Attention<D, H, biased>>{}, "gqa_bias_not_causal");
}

// ---- The kernel itself -------------------------------------------------------------------

namespace {
struct Problem {
  Index batch, q_heads, kv_heads, dh, q_len, kv_len;
  bool causal;
};

// out[b, t, h] in float64, straight from the definition.
double reference(const kernels::AttentionProblem& p, Index b, Index h, Index t, Index e) {
  const float *q = p.q, *k = p.k, *v = p.v;
  const Index g = h / (p.q_heads / p.kv_heads);
  Index limit = p.kv_lengths ? p.kv_lengths[b] : p.kv_len;
  if (p.causal) limit = std::min<Index>(limit, (p.q_offsets ? p.q_offsets[b] : 0) + t + 1);
  std::vector<double> s(static_cast<std::size_t>(std::max<Index>(limit, 0)));
  double m = -INFINITY;
  for (Index j = 0; j < limit; ++j) {
    double d = 0;
    for (Index i = 0; i < p.head_dim; ++i)
      d += double(q[(b * p.q_len + t) * p.ldq + h * p.head_dim + i]) * k[(b * p.kv_len + j) * p.ldk + g * p.head_dim + i];
    d *= p.scale;
    if (p.masks.added) d += p.masks.added[b * p.masks.batch_stride + h * p.masks.head_stride + t * p.masks.row_stride + j];
    if (p.masks.blocked && p.masks.blocked[b * p.masks.batch_stride + h * p.masks.head_stride + t * p.masks.row_stride + j])
      d = -INFINITY;
    s[j] = d;
    m = std::max(m, d);
  }
  double l = 0, o = 0;
  for (Index j = 0; j < limit; ++j) {
    const double w = std::isinf(s[j]) ? 0 : std::exp(s[j] - m);
    l += w;
    o += w * v[(b * p.kv_len + j) * p.ldv + g * p.head_dim + e];
  }
  return o / l;  // NaN when nothing is visible
}
}  // namespace

TEST_CASE("kernels::attention: tiled = materialized = float64, for rows and for pages", "[attention][kernel]") {
  const char* fixed = std::getenv("MMM_SEED");
  const unsigned seed = fixed ? static_cast<unsigned>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  UNSCOPED_INFO("kernel trials seed " << seed << " (rerun with MMM_SEED=" << seed << ")");
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (int trial = 0; trial < 40; ++trial) {
    const Index batch = 1 + rng() % 3, kv_heads = 1 + rng() % 3, q_heads = kv_heads * (1 + rng() % 3);
    const Index dh = 1 + rng() % 70, q_len = 1 + rng() % 60;
    const bool causal = rng() % 2, masked = rng() % 3 == 0;
    const Index kv_len = causal ? q_len + rng() % 40 : 1 + rng() % 300;
    const Index ldq = q_heads * dh + 3, ldk = kv_heads * dh + 1;
    std::vector<float> q(batch * q_len * ldq), k(batch * kv_len * ldk), v(batch * kv_len * ldk);
    for (float* buf : {q.data(), k.data(), v.data()}) (void)buf;
    const float sharpness = trial % 4 == 0 ? 6.0f : 1.0f;  // some trials with peaked softmax rows
    for (auto& x : q) x = sharpness * normal(rng);
    for (auto& x : k) x = normal(rng);
    for (auto& x : v) x = normal(rng);
    std::vector<std::int32_t> lengths(batch), offsets(batch);
    for (auto& l : lengths) l = static_cast<std::int32_t>(1 + rng() % kv_len);
    for (auto& o : offsets) o = causal ? static_cast<std::int32_t>(rng() % (kv_len - q_len + 1)) : 0;
    std::vector<std::uint8_t> blocked(q_len * kv_len);
    for (auto& z : blocked) z = rng() % 5 == 0;

    kernels::AttentionProblem p;
    p.batch = batch, p.q_heads = q_heads, p.kv_heads = kv_heads, p.head_dim = dh, p.q_len = q_len, p.kv_len = kv_len;
    p.q = q.data(), p.ldq = ldq, p.k = k.data(), p.v = v.data(), p.ldk = ldk, p.ldv = ldk;
    p.kv_lengths = lengths.data(), p.causal = causal, p.q_offsets = causal ? offsets.data() : nullptr;
    p.scale = 1.0f / std::sqrt(static_cast<float>(dh));
    if (masked) p.masks.blocked = blocked.data(), p.masks.row_stride = kv_len;

    // The same keys in pages of 32 (as a KV cache holds them), pages in shuffled order.
    using Layout = kernels::KvPageLayout<>;
    constexpr Index page_keys = 32;
    const Index pages_per_item = (kv_len + page_keys - 1) / page_keys, head_floats = Layout::head_floats(page_keys, dh);
    std::vector<std::int32_t> table(batch * pages_per_item);
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<std::int32_t>(table.size() - 1 - i);
    std::vector<float> pages(table.size() * kv_heads * head_floats + 16, 0.0f);
    for (Index b = 0; b < batch; ++b)
      for (Index j = 0; j < kv_len; ++j)
        for (Index g = 0; g < kv_heads; ++g)
          Layout::store(pages.data() + (table[b * pages_per_item + j / page_keys] * kv_heads + g) * head_floats, page_keys,
                        dh, j % page_keys, &k[(b * kv_len + j) * ldk + g * dh], &v[(b * kv_len + j) * ldk + g * dh]);
    const kernels::KvPages paged{pages.data(), table.data(), pages_per_item, kv_heads * head_floats, head_floats,
                                 Layout::value_offset(page_keys, dh), page_keys};

    std::vector<float> tiled(q.size()), materialized(q.size()), from_pages(q.size()), weights(batch * q_heads * q_len * kv_len);
    Workspace ws;
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      p.out = tiled.data(), p.ldo = ldq;
      kernels::attention(p, ws);
      p.out = materialized.data();
      kernels::attention_with_weights(p, weights.data(), false, ws);
      kernels::AttentionProblem pp = p;
      pp.k = pp.v = nullptr;
      pp.paged = &paged;
      pp.out = from_pages.data();
      kernels::attention(pp, ws);
      double worst = 0;
      for (Index b = 0; b < batch; ++b)
        for (Index h = 0; h < q_heads; ++h)
          for (Index t = 0; t < q_len; ++t)
            for (Index e = 0; e < dh; ++e) {
              const double want = reference(p, b, h, t, e);
              const Index at = (b * q_len + t) * ldq + h * dh + e;
              for (const auto* got : {&tiled, &materialized, &from_pages}) {
                const float x = (*got)[static_cast<std::size_t>(at)];
                if (std::isnan(want)) {
                  REQUIRE(std::isnan(x));
                } else {
                  worst = std::max(worst, std::fabs(x - want) / std::max(1e-2, std::fabs(want)));
                }
              }
            }
      INFO("trial " << trial << ": batch " << batch << ", heads " << q_heads << "/" << kv_heads << ", head_dim " << dh
                    << ", lengths " << q_len << "/" << kv_len << (causal ? ", causal" : "") << (masked ? ", masked" : ""));
      // Peaked rows have scores of magnitude ~20, whose float32 rounding (~1e-5 absolute, as
      // in torch's float32 matmul) e^s turns into that relative error of the weights.
      REQUIRE(worst < (sharpness > 1.0f ? 1e-3 : 1e-4));
    }
    set_num_threads(0);
  }
}

TEST_CASE("1×8192×512 self-attention runs in scratch far below 8192² floats", "[attention][memory]") {
  constexpr Index T = 8192, DM = 512, heads = 8, dh = DM / heads;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> qkv(T * 3 * DM), out(T * DM);
  for (auto& x : qkv) x = normal(rng);
  kernels::AttentionProblem p;
  p.batch = 1, p.q_heads = p.kv_heads = heads, p.head_dim = dh, p.q_len = p.kv_len = T;
  p.q = qkv.data(), p.ldq = 3 * DM, p.k = qkv.data() + DM, p.v = qkv.data() + 2 * DM, p.ldk = p.ldv = 3 * DM;
  p.causal = true, p.scale = 0.125f, p.out = out.data(), p.ldo = DM;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Workspace ws;
    kernels::attention(p, ws);
    const double limit = double(T) * T / 16 * sizeof(float);
    INFO(threads << " thread(s): kernel scratch high water " << ws.high_water() << " bytes, limit " << limit);
    CHECK(double(ws.high_water()) < limit);
    for (Index t : {Index{0}, Index{4097}, T - 1})
      for (Index h : {Index{0}, heads - 1})
        for (Index e : {Index{0}, dh - 1})
          CHECK(out[t * DM + h * dh + e] == Approx(reference(p, 0, h, t, e)).epsilon(1e-4).margin(1e-5));
  }
  set_num_threads(0);
  // The whole module: the projections' T×3·512 and the output T×512 on top of that.
  static Attention<DM, heads, Attn{.causal = true}> attention;
  test::fill_random(attention, 3, 0.05f);
  Tensor x(Shape{1, T, DM});
  for (Index i = 0; i < x.numel(); ++i) x[i] = normal(rng);
  Workspace ws;
  const Seq<DM> y = attention(Seq<DM>(x), ws);
  CHECK(std::isfinite(y.data[T * DM - 1]));
  const double scores = double(T) * T * sizeof(float);
  INFO("Attention<512, 8> on 1×8192×512: Workspace high water " << ws.high_water() << " bytes = "
                                                                << ws.high_water() / scores << " of the 8192² scores");
  CHECK(double(ws.high_water()) < scores / 3);
  WARN("1x8192x512 self-attention: module high water " << ws.high_water() << " bytes (" << ws.high_water() / scores
                                                        << " of 8192^2 floats)");
}

// ---- Bad input ---------------------------------------------------------------------------

TEST_CASE("Attention reports bad masks and mismatched inputs, naming itself and the sizes", "[attention][errors]") {
  static Attention<D, H> m;
  test::fill_random(m, 1, 0.1f);
  Tensor x(Shape{3, 37, D}, 0.1f), memory(Shape{2, 53, D}, 0.1f), values(Shape{3, 50, D}, 0.1f), keys(Shape{3, 53, D}, 0.1f);
  Workspace ws;
  std::vector<std::uint8_t> zeros(3 * 37 * 53 * H, 0);
  std::vector<float> fzeros(3 * 37 * 53 * H, 0.0f);
  {
    AttentionOptions o;
    o.attn_mask.blocked = TensorView<const std::uint8_t>(zeros.data(), Shape{37, 36});
    require_error<ShapeError>([&] { (void)m.attend(Seq<D>(x), Seq<D>(x), Seq<D>(x), o, ws); }, {"Attention<72, 6>: attn_mask has shape [37, 36]", "[37, 37] (queries × keys) or [18, 37, 37]"});
  }
  {
    AttentionOptions o;
    o.attn_mask.added = TensorView<const float>(fzeros.data(), Shape{6, 37, 37});
    require_error<ShapeError>([&] { (void)m.attend(Seq<D>(x), Seq<D>(x), Seq<D>(x), o, ws); }, {"attn_mask has shape [6, 37, 37]"});
  }
  {
    AttentionOptions o;
    o.key_padding_mask.blocked = TensorView<const std::uint8_t>(zeros.data(), Shape{3, 53});
    require_error<ShapeError>([&] { (void)m.attend(Seq<D>(x), Seq<D>(x), Seq<D>(x), o, ws); }, {"key_padding_mask has shape [3, 53]; it must be [3, 37]"});
  }
  require_error<ShapeError>([&] { (void)m(Branches<Seq<D>, Seq<D>>(Seq<D>(x), Seq<D>(memory)), ws); }, {"Attention<72, 6>: the query has batch 3 but the keys have 2"});
  require_error<ShapeError>([&] { (void)m.attend(Seq<D>(x), Seq<D>(keys), Seq<D>(values), {}, ws); }, {"53 keys but 50 values"});
  const std::int32_t too_long[3] = {37, 38, 1};
  require_error<RangeError>([&] { (void)m(Seq<D>(x, too_long), ws); }, {"Attention<72, 6>: item 1 of the input Seq<72> claims 38 valid steps, outside [0, 37]"});
  static Attention<D, H, Attn{.rope = Rope{.theta = 10000.0f, .max_positions = 16}}> short_rope;
  test::fill_random(short_rope, 2, 0.1f);
  require_error<RangeError>([&] { (void)short_rope(Seq<D>(x), ws); }, {"reaches position 36, past the 16 positions it has"});
  Attention<D, H> unprepared;
  require_error<Error>([&] { (void)unprepared(Seq<D>(x), ws); }, {"Attention<72, 6>: weights are not prepared"});
}

TEST_CASE("Attention lists torch's parameter names in each naming style", "[attention]") {
  auto names = [](const auto& m) {
    std::vector<std::string> out;
    for (const auto& [name, tensor] : state_dict(m)) out.push_back(name + " " + tensor->shape().str());
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(names(Attention<8, 2>{}) == V{"in_proj_weight [24, 8]", "in_proj_bias [24]", "out_proj.weight [8, 8]", "out_proj.bias [8]"});
  CHECK(names(Attention<8, 2, Attn{.names = AttnNames::gpt2}>{}) ==
        V{"c_attn.weight [24, 8]", "c_attn.bias [24]", "c_proj.weight [8, 8]", "c_proj.bias [8]"});
  CHECK(names(Attention<8, 4, Attn{.kv_heads = 2, .bias = false, .names = AttnNames::llama}>{}) ==
        V{"q_proj.weight [8, 8]", "k_proj.weight [4, 8]", "v_proj.weight [4, 8]", "o_proj.weight [8, 8]"});
  CHECK(names(Attention<8, 2, Attn{.kdim = 3, .vdim = 5}>{}) ==
        V{"q_proj_weight [8, 8]", "k_proj_weight [8, 3]", "v_proj_weight [8, 5]", "in_proj_bias [24]",
          "out_proj.weight [8, 8]", "out_proj.bias [8]"});
  CHECK(Attention<8, 4, Attn{.kv_heads = 2, .causal = true, .rope = Rope{.theta = 1e4f}}>::name() ==
        "Attention<8, 4, kv_heads 2, causal, rope>");
}
