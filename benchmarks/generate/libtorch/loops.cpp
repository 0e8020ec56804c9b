// The decoding loops of bench_generate in libtorch's C++ API: what torch_loops.py does, as a
// libtorch user writes it without Python. The same requests (a 64-token prompt, 128 new
// tokens, greedy and beam search of width 4) on the same models, with the parameters and
// the reference tokens that `torch_loops.py --export DIR` writes:
//   - gpt2_256x4_v8000 over a KV cache allocated once for the request (capacity prompt +
//     new tokens), each step writing its positions in place (narrow().copy_()) and attending
//     over the filled part; beams reorder the cache with index_select;
//   - lstm_256x2_v8000: at::embedding → at::lstm (2 layers, the fused op nn.LSTM calls) →
//     at::linear, the state (h, c) carried and reordered with index_select.
// Every loop's tokens are checked against torch's (reference.json) before it is timed.
//
//   libtorch_loops DIR [--repetitions 5] [--threads 1,2]
//
// Prints one row per case, named as bench_generate's: <Kind>/libtorch/<model>/threads:N,
// the median milliseconds per request and tokens per second (as torch_loops.py prints).
#include <torch/torch.h>

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int64_t kNew = 128, kWidth = 4;

// Debian's libtorch runs its float GEMMs in OpenBLAS, whose pool at::set_num_threads does
// not reach: set it too (found at run time, so another BLAS still links).
void set_threads(int threads) {
  at::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
}

Json read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot open it (run torch_loops.py --export DIR first)");
  return Json::parse(in);
}

// <model>.params.json: the state_dict as raw float32 files.
class Parameters {
 public:
  Parameters(const fs::path& dir, const std::string& model) {
    for (const Json& entry : read_json(dir / (model + ".params.json"))) {
      torch::Tensor t = torch::empty(entry.at("shape").get<std::vector<int64_t>>());
      const fs::path file = dir / entry.at("file").get<std::string>();
      std::ifstream in(file, std::ios::binary);
      const auto bytes = static_cast<std::streamsize>(t.nbytes());
      if (!in.read(static_cast<char*>(t.data_ptr()), bytes) || in.peek() != EOF)
        throw std::runtime_error(file.string() + ": expected exactly " + std::to_string(bytes) + " bytes");
      tensors_.emplace(entry.at("name").get<std::string>(), t);
    }
  }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const torch::Tensor& operator[](const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error("no parameter '" + name + "'");
    return it->second;
  }

 private:
  std::map<std::string, torch::Tensor> tensors_;
};

// GPT-2 (tools/reference/decoder_blocks.py's GPT2: pre-LayerNorm blocks, fused c_attn,
// GELU-tanh MLP, learned positions, the token embedding as the head).
class Gpt2 {
 public:
  struct State {
    torch::Tensor k, v;  // [layers, B, heads, capacity, head_dim]
    int64_t filled = 0;
  };

  Gpt2(const Parameters& p, int64_t layers, int64_t heads) : heads_(heads) {
    wte_ = p["wte.weight"];
    wpe_ = p["wpe.weight"];
    dim_ = wte_.size(1);
    for (int64_t l = 0; l < layers; ++l) {
      const std::string h = "h." + std::to_string(l) + ".";
      std::vector<torch::Tensor> block;
      for (const char* name : {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                               "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                               "mlp.c_proj.weight", "mlp.c_proj.bias"})
        block.push_back(p[h + name]);
      blocks_.push_back(std::move(block));
    }
    ln_f_ = {p["ln_f.weight"], p["ln_f.bias"]};
  }

  torch::Tensor start(const torch::Tensor& tokens, State& s) const {
    const int64_t layers = static_cast<int64_t>(blocks_.size()), hd = dim_ / heads_;
    s.k = torch::empty({layers, 1, heads_, tokens.size(1) + kNew, hd});
    s.v = torch::empty_like(s.k);
    s.filled = 0;
    return forward(tokens, s);
  }
  torch::Tensor step(const torch::Tensor& tokens, State& s) const { return forward(tokens, s); }
  static void reorder(State& s, const torch::Tensor& index) {
    s.k = s.k.index_select(1, index);
    s.v = s.v.index_select(1, index);
  }

 private:
  torch::Tensor forward(const torch::Tensor& tokens, State& s) const {
    const int64_t B = tokens.size(0), T = tokens.size(1), n = s.filled, hd = dim_ / heads_;
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    torch::Tensor x = at::embedding(wte_, tokens) + wpe_.narrow(0, n, T);
    auto heads_of = [&](const torch::Tensor& t) { return t.view({B, T, heads_, hd}).transpose(1, 2); };
    for (size_t l = 0; l < blocks_.size(); ++l) {
      const std::vector<torch::Tensor>& p = blocks_[l];
      const auto qkv = at::linear(at::layer_norm(x, {dim_}, p[0], p[1], 1e-5), p[2], p[3]).split(dim_, -1);
      torch::Tensor k_cache = s.k[static_cast<int64_t>(l)], v_cache = s.v[static_cast<int64_t>(l)];
      k_cache.narrow(2, n, T).copy_(heads_of(qkv[1]));
      v_cache.narrow(2, n, T).copy_(heads_of(qkv[2]));
      const torch::Tensor keys = k_cache.narrow(2, 0, n + T), values = v_cache.narrow(2, 0, n + T);
      torch::Tensor scores = at::matmul(heads_of(qkv[0]), keys.transpose(-2, -1)) * scale;
      if (T > 1) scores = scores + torch::full({T, n + T}, -INFINITY).triu(n + 1);
      const auto attended = at::matmul(at::softmax(scores, -1), values).transpose(1, 2).reshape({B, T, dim_});
      x = x + at::linear(attended, p[4], p[5]);
      x = x + at::linear(at::gelu(at::linear(at::layer_norm(x, {dim_}, p[6], p[7], 1e-5), p[8], p[9]), "tanh"), p[10],
                         p[11]);
    }
    s.filled = n + T;
    return at::linear(at::layer_norm(x.select(1, T - 1), {dim_}, ln_f_[0], ln_f_[1], 1e-5), wte_);
  }

  int64_t heads_, dim_ = 0;
  torch::Tensor wte_, wpe_;
  std::vector<std::vector<torch::Tensor>> blocks_;
  std::vector<torch::Tensor> ln_f_;
};

// Embedding(8000, 256) → LSTM(256, 256, 2 layers, batch_first) → Linear(256, 8000).
class LstmDecoder {
 public:
  struct State {
    torch::Tensor h, c;  // [layers, B, hidden]
  };

  explicit LstmDecoder(const Parameters& p) : embedding_(p["embedding.weight"]), head_w_(p["head.weight"]), head_b_(p["head.bias"]) {
    for (; p.contains("lstm.weight_ih_l" + std::to_string(layers_)); ++layers_) {
      const std::string l = std::to_string(layers_);
      weights_.push_back(p["lstm.weight_ih_l" + l]);
      weights_.push_back(p["lstm.weight_hh_l" + l]);
      weights_.push_back(p["lstm.bias_ih_l" + l]);
      weights_.push_back(p["lstm.bias_hh_l" + l]);
    }
    hidden_ = weights_[1].size(1);
  }

  torch::Tensor start(const torch::Tensor& tokens, State& s) const {
    s.h = torch::zeros({layers_, tokens.size(0), hidden_});
    s.c = torch::zeros_like(s.h);
    return step(tokens, s);
  }
  torch::Tensor step(const torch::Tensor& tokens, State& s) const {
    auto [y, h, c] = at::lstm(at::embedding(embedding_, tokens), {s.h, s.c}, weights_, /*has_biases=*/true, layers_,
                              /*dropout=*/0.0, /*train=*/false, /*bidirectional=*/false, /*batch_first=*/true);
    s.h = h;
    s.c = c;
    return at::linear(y.select(1, y.size(1) - 1), head_w_, head_b_);
  }
  static void reorder(State& s, const torch::Tensor& index) {
    s.h = s.h.index_select(1, index);
    s.c = s.c.index_select(1, index);
  }

 private:
  torch::Tensor embedding_, head_w_, head_b_;
  std::vector<torch::Tensor> weights_;
  int64_t layers_ = 0, hidden_ = 0;
};

template <class Model>
torch::Tensor greedy(const Model& model, const torch::Tensor& prompt) {
  typename Model::State state;
  torch::Tensor logits = model.start(prompt, state);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < kNew; ++i) {
    const torch::Tensor token = logits.argmax(-1, /*keepdim=*/true);
    out.push_back(token);
    if (i + 1 < kNew) logits = model.step(token, state);
  }
  return torch::cat(out, 1)[0];
}

template <class Model>
torch::Tensor beam4(const Model& model, const torch::Tensor& prompt) {
  typename Model::State state;
  const torch::Tensor logits = model.start(prompt, state);
  auto [best, tokens] = torch::log_softmax(logits, -1)[0].topk(kWidth);
  torch::Tensor beams = tokens.unsqueeze(1);
  Model::reorder(state, torch::zeros({kWidth}, torch::kLong));
  const int64_t vocab = logits.size(-1);
  for (int64_t i = 0; i + 1 < kNew; ++i) {
    const torch::Tensor total = (best.unsqueeze(1) + torch::log_softmax(model.step(beams.narrow(1, beams.size(1) - 1, 1), state), -1)).view(-1);
    torch::Tensor flat;
    std::tie(best, flat) = total.topk(kWidth);
    const torch::Tensor source = flat.div(vocab, "floor"), token = flat.remainder(vocab);
    beams = torch::cat({beams.index_select(0, source), token.unsqueeze(1)}, 1);
    Model::reorder(state, source);
  }
  return beams[0];
}

std::vector<int> parse_threads(const std::string& list) {
  std::vector<int> threads;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const int n = std::atoi(item.c_str());
    if (n < 1) throw std::runtime_error("--threads: '" + item + "' is not a positive count");
    threads.push_back(n);
  }
  return threads;
}

template <class Model>
void time_case(const char* kind, const std::string& model_name, const Model& model, const torch::Tensor& prompt,
               const Json& reference, int threads, int repetitions, torch::Tensor (*run)(const Model&, const torch::Tensor&)) {
  const auto expected = reference.at(model_name).at(kind).get<std::vector<int64_t>>();
  const torch::Tensor got = run(model, prompt);
  if (got.numel() != static_cast<int64_t>(expected.size()) ||
      !torch::equal(got, torch::tensor(expected, torch::kLong)))
    throw std::runtime_error(std::string(kind) + "/" + model_name + ": libtorch's tokens differ from torch's");
  std::vector<double> ms;
  for (int r = 0; r < repetitions; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run(model, prompt);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf("%s/libtorch/%s/threads:%d  %9.2f ms  %9.1f tokens/s\n", kind, model_name.c_str(), threads, median,
              static_cast<double>(kNew) / median * 1e3);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) throw std::runtime_error("usage: libtorch_loops DIR [--repetitions N] [--threads 1,2]");
  const fs::path dir = argv[1];
  int repetitions = 5;
  std::vector<int> threads{1, 2};
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repetitions" && i + 1 < argc) {
      repetitions = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = parse_threads(argv[++i]);
    } else {
      throw std::runtime_error("libtorch_loops: unknown argument '" + arg + "'");
    }
  }
  torch::InferenceMode inference;
  const Json reference = read_json(dir / "reference.json");
  const torch::Tensor prompt = torch::tensor(reference.at("prompt").get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
  const Gpt2 gpt2(Parameters(dir, "gpt2_256x4_v8000"), 4, 4);
  const LstmDecoder lstm(Parameters(dir, "lstm_256x2_v8000"));
  for (const int n : threads) {
    set_threads(n);
    time_case("Greedy", "gpt2_256x4_v8000", gpt2, prompt, reference, n, repetitions, &greedy<Gpt2>);
    time_case("Greedy", "lstm_256x2_v8000", lstm, prompt, reference, n, repetitions, &greedy<LstmDecoder>);
    time_case("Beam4", "gpt2_256x4_v8000", gpt2, prompt, reference, n, repetitions, &beam4<Gpt2>);
    time_case("Beam4", "lstm_256x2_v8000", lstm, prompt, reference, n, repetitions, &beam4<LstmDecoder>);
  }
  return 0;
} catch (const std::exception& error) {
  std::fprintf(stderr, "libtorch_loops: %s\n", error.what());
  return 1;
}
