// Transformer decoders on the decoder-step interface, over KV caches: a GPT-2
// (LanguageModelDecoder over models/gpt2.hpp) and a transformer captioner with cross-attention
// to CNN patch tokens (CrossAttentionDecoder) decode as the Python reference procedures do
// over the same torch modules recomputing every prefix (oracle: parity_oracle.py) — the same
// decoding code as the LSTM decoders in recurrent.cpp.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "generate/hypotheses_check.hpp"
#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using generate::Hypotheses;
using test::OracleCase;

namespace {
using Gpt2 = GPT2<GPT2Config{.vocab = 53, .positions = 64, .dim = 48, .heads = 4, .layers = 2}>;
using CaptionLayer = TransformerDecoderLayer<32, 4, 64, Layer{.norm_first = true, .causal = true}>;
using Captioner = generate::CrossAttentionDecoder<37, 32, CaptionLayer, 2>;
using PatchTokens = Sequential<Conv2D<3, 16, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, MapToSeq, Linear<16, 32>>;
}  // namespace

static_assert(generate::StepDecoder<generate::LanguageModelDecoder<Gpt2>>);
static_assert(generate::StepDecoder<Captioner>);

TEST_CASE("a GPT-2 with a KV cache greedy-decodes, beam-searches and samples as the recomputing reference") {
  for (const char* name : {"gpt2_greedy", "gpt2_beam", "gpt2_sample"}) {
    OracleCase c(name);
    Gpt2 model;
    c.load_model(model);
    const generate::LanguageModelDecoder<Gpt2> decoder(model);
    const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
    const Tokens prompt(ids.view(), lengths.data());
    Workspace ws;
    const Index capacity = prompt.length + test::meta_int(c, "max_length");
    const Hypotheses h = test::decode_case(decoder, c, prompt, [&](Index rows) { return decoder.make_state(rows, capacity); }, ws);
    test::check_hypotheses(h, c, "", name);
  }
}

TEST_CASE("a transformer captioner cross-attending to CNN patch tokens decodes as the recomputing reference") {
  for (const char* name : {"tcaption_greedy", "tcaption_beam"}) {
    OracleCase c(name);
    PatchTokens patches;
    Captioner captioner;
    load(patches, c.file(), "model.encoder");
    load(captioner, c.file(), "model.decoder");
    const Tensor images = c.input("image");
    Workspace ws;
    const Seq<32> memory = patches(Map<3>(images), ws);
    const std::vector<std::int32_t> bos(static_cast<std::size_t>(images.dim(0)), 0);
    const Tokens prompt(bos.data(), images.dim(0), 1);
    const Hypotheses h = test::decode_case(captioner, c, prompt,
                                [&](Index rows) {
                                  auto state = captioner.make_state(rows, 32, memory.length);
                                  captioner.condition(state, memory, ws);
                                  return state;
                                },
                                ws);
    test::check_hypotheses(h, c, "", name);
  }
}
