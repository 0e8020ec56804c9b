// Times the peer workloads (benchmarks/peers/onnx/workloads.json, exported by
// export_workloads.py) in libtorch, as Google Benchmark cases named
// libtorch/<case>/threads:<n>, n being ATen's intra-op thread count.
//
//   bench_libtorch --manifest=build-peers/models/manifest.json [--threads=1,2]
//                  [--benchmark_filter=...] [--benchmark_repetitions=5] ...
//
// A case with a native op (mm, linear, mlp) runs it directly with preallocated outputs:
// at::mm_out, and at::addmm_out(y, bias, x, weight.t()), which is what
// torch::nn::functional::linear does for a 2-D input, minus allocating y. gpt2_decode_step is
// the per-token loop of a GPT-2 style decoder with a KV cache, as one writes it in libtorch:
// key/value tensors for the whole capacity allocated once, each step writing its position in
// place (narrow().copy_()) and attending over the cache. Any other case runs
// its TorchScript trace through torch::jit. Either way under torch::NoGradGuard, on the
// exported inputs and parameters, and the output is checked against torch's once before
// timing.
#include <torch/script.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr double kTolerance = 1e-4;

// Debian's libtorch does its float GEMMs in the system BLAS (OpenBLAS through libblas.so.3),
// whose thread pool at::set_num_threads does not reach: set it too, found at run time so
// another BLAS still links.
struct BlasControl {
  void (*set_num_threads)(int) = nullptr;
  char* (*corename)() = nullptr;
  char* (*config)() = nullptr;

  BlasControl() {
    set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    corename = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    config = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  }
  std::string describe() const {
    if (config == nullptr) return "not OpenBLAS (no openblas_get_config symbol)";
    std::string text = config();
    if (corename != nullptr) text += " core=" + std::string(corename());
    return text;
  }
};

const BlasControl& blas() {
  static const BlasControl control;
  return control;
}

void set_threads(int threads) {
  at::set_num_threads(threads);
  if (blas().set_num_threads != nullptr) blas().set_num_threads(threads);
}

// ATen's vectorised element-wise kernels (not the GEMMs) follow this: the line
// "CPU capability usage: AVX2" of at::show_config().
std::string cpu_capability() {
  const std::string config = at::show_config();
  const std::string key = "CPU capability usage: ";
  const auto at = config.find(key);
  if (at == std::string::npos) return "unknown";
  const auto start = at + key.size();
  return config.substr(start, config.find('\n', start) - start);
}

torch::Tensor read_tensor(const fs::path& dir, const Json& entry) {
  const std::string dtype = entry.at("dtype");
  const auto shape = entry.at("shape").get<std::vector<int64_t>>();
  const auto scalar = dtype == "float32" ? torch::kFloat32
                    : dtype == "int64"   ? torch::kInt64
                                         : throw std::runtime_error("dtype " + dtype + " is not supported");
  torch::Tensor tensor = torch::empty(shape, torch::TensorOptions().dtype(scalar));
  const fs::path file = dir / entry.at("file").get<std::string>();
  std::ifstream in(file, std::ios::binary);
  const auto bytes = static_cast<std::streamsize>(tensor.nbytes());
  if (!in.read(static_cast<char*>(tensor.data_ptr()), bytes) || in.peek() != EOF) {
    throw std::runtime_error(file.string() + ": expected exactly " + std::to_string(bytes) + " bytes");
  }
  return tensor;
}

// Largest difference relative to the largest reference magnitude (summation orders differ).
double max_relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  const double worst = (actual.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().max().item<double>();
  const double scale = expected.to(torch::kFloat64).abs().max().item<double>();
  return worst / std::max(scale, 1e-300);
}

// One case, set up once and shared by its thread counts and repetitions.
class Workload {
 public:
  Workload(fs::path dir, Json entry) : dir_(std::move(dir)), entry_(std::move(entry)) {}

  // The timed call. Built on first use, outside any timed region.
  const std::function<void()>& run() {
    if (!error_.empty()) throw std::runtime_error(error_);  // the other thread counts' turn
    if (!run_) {
      try {
        build();
      } catch (const std::exception& error) {
        error_ = error.what();
        run_ = nullptr;
        throw;
      }
    }
    return run_;
  }
  double max_error() const { return max_error_; }
  double flops() const { return entry_.value("flops", Json()).is_number() ? entry_["flops"].get<double>() : 0.0; }

 private:
  void build() {
    torch::NoGradGuard no_grad;
    const std::string name = entry_.at("name");
    for (const auto& input : entry_.at("inputs")) inputs_.push_back(read_tensor(dir_, input));
    for (const auto& param : entry_.value("params", Json::array())) params_.push_back(read_tensor(dir_, param));
    std::vector<torch::Tensor> expected;
    for (const auto& output : entry_.at("outputs")) expected.push_back(read_tensor(dir_, output));

    std::function<std::vector<torch::Tensor>()> outputs;
    const Json& native = entry_.at("libtorch");
    if (native.is_object()) {
      build_native(native.at("op").get<std::string>(), name, native);
      outputs = [this] { return native_outputs_.empty() ? std::vector<torch::Tensor>{out_} : native_outputs_; };
    } else {
      build_torchscript(name);
      outputs = [this] { return jit_outputs_; };
    }
    run_();
    const auto actual = outputs();
    if (actual.size() != expected.size()) throw std::runtime_error(name + ": wrong number of outputs");
    for (size_t i = 0; i < actual.size(); ++i) {
      max_error_ = std::max(max_error_, max_relative_error(actual[i], expected[i]));
    }
    if (!(max_error_ <= kTolerance)) {
      throw std::runtime_error(name + ": libtorch's output differs from torch's (max relative error " +
                               std::to_string(max_error_) + ")");
    }
  }

  void expect(bool ok, const std::string& name, const std::string& what) {
    if (!ok) throw std::runtime_error(name + ": " + what);
  }

  void build_native(const std::string& op, const std::string& name, const Json& native) {
    if (op == "gpt2_decode_step") return build_decode_step(name, native);
    expect(inputs_.size() == (op == "mm" ? 2u : 1u), name, "wrong number of inputs for op " + op);
    if (op == "mm") {
      const auto& a = inputs_[0];
      const auto& b = inputs_[1];
      out_ = torch::empty({a.size(0), b.size(1)});
      run_ = [this] { at::mm_out(out_, inputs_[0], inputs_[1]); };
    } else if (op == "linear" || op == "mlp") {
      expect(!params_.empty() && params_.size() % 2 == 0, name, op + " wants weight, bias pairs");
      // Hidden activations and the output, allocated once: addmm_out writes into them.
      const int64_t batch = inputs_[0].size(0);
      for (size_t i = 0; i < params_.size(); i += 2) {
        weights_t_.push_back(params_[i].t());  // a view: BLAS reads the [out, in] weight transposed
        activations_.push_back(torch::empty({batch, params_[i].size(0)}));
      }
      out_ = activations_.back();
      run_ = [this] {
        const torch::Tensor* x = &inputs_[0];
        for (size_t layer = 0; layer < weights_t_.size(); ++layer) {
          if (layer > 0) activations_[layer - 1].relu_();
          at::addmm_out(activations_[layer], params_[2 * layer + 1], *x, weights_t_[layer]);
          x = &activations_[layer];
        }
      };
    } else {
      throw std::runtime_error(name + ": unknown native op '" + op + "' (mm, linear, mlp, gpt2_decode_step)");
    }
  }

  // Inputs x [1, 1, D], past_k and past_v [L, 1, H, T, D/H]; parameters in state_dict order
  // (h.<l>.ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj: 12 per layer, then
  // ln_f). Outputs: the token's output and the caches with its keys and values at position T.
  void build_decode_step(const std::string& name, const Json& native) {
    const int64_t layers = native.at("layers").get<int64_t>(), heads = native.at("heads").get<int64_t>();
    expect(inputs_.size() == 3 && params_.size() == static_cast<size_t>(12 * layers + 2), name,
           "gpt2_decode_step wants x, past_k, past_v and 12 parameters per layer plus ln_f");
    const auto& past_k = inputs_[1];
    const int64_t T = past_k.size(3), head_dim = past_k.size(4), D = heads * head_dim;
    cache_k_ = torch::empty({layers, 1, heads, T + 1, head_dim});
    cache_v_ = torch::empty({layers, 1, heads, T + 1, head_dim});
    cache_k_.narrow(3, 0, T).copy_(past_k);
    cache_v_.narrow(3, 0, T).copy_(inputs_[2]);
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    run_ = [this, layers, heads, head_dim, T, D, scale] {
      torch::Tensor h = inputs_[0];
      for (int64_t l = 0; l < layers; ++l) {
        const torch::Tensor* p = &params_[static_cast<size_t>(12 * l)];
        const auto qkv = at::linear(at::layer_norm(h, {D}, p[0], p[1], 1e-5), p[2], p[3]).split(D, -1);
        auto heads_of = [&](const torch::Tensor& t) { return t.view({1, 1, heads, head_dim}).transpose(1, 2); };
        torch::Tensor k_cache = cache_k_[l], v_cache = cache_v_[l];
        k_cache.narrow(2, T, 1).copy_(heads_of(qkv[1]));
        v_cache.narrow(2, T, 1).copy_(heads_of(qkv[2]));
        const auto weights = at::softmax(at::matmul(heads_of(qkv[0]), k_cache.transpose(-2, -1)) * scale, -1);
        const auto attended = at::matmul(weights, v_cache).transpose(1, 2).reshape({1, 1, D});
        h = h + at::linear(attended, p[4], p[5]);
        const auto hidden = at::gelu(at::linear(at::layer_norm(h, {D}, p[6], p[7], 1e-5), p[8], p[9]), "tanh");
        h = h + at::linear(hidden, p[10], p[11]);
      }
      const size_t f = static_cast<size_t>(12 * layers);
      native_outputs_ = {at::layer_norm(h, {D}, params_[f], params_[f + 1], 1e-5), cache_k_, cache_v_};
    };
  }

  // In the exporter's order: LSTM's (y, (h, c)) gives y, h, c.
  static void flatten(const torch::jit::IValue& value, std::vector<torch::Tensor>& into) {
    if (value.isTensor()) {
      into.push_back(value.toTensor());
    } else if (value.isTuple()) {
      for (const auto& element : value.toTupleRef().elements()) flatten(element, into);
    } else if (value.isList()) {
      for (const auto& element : value.toListRef()) flatten(element, into);
    } else {
      throw std::runtime_error("TorchScript output of type " + value.tagKind() + ": expected tensors or tuples");
    }
  }

  void build_torchscript(const std::string& name) {
    const Json& file = entry_.at("torchscript");
    expect(file.is_string(), name, "no native op and no TorchScript file in the manifest");
    module_ = torch::jit::load((dir_ / file.get<std::string>()).string());
    module_.eval();
    for (const auto& t : inputs_) jit_inputs_.emplace_back(t);
    run_ = [this] {
      const torch::jit::IValue result = module_.forward(jit_inputs_);
      jit_outputs_.clear();
      flatten(result, jit_outputs_);
    };
  }

  fs::path dir_;
  Json entry_;
  std::vector<torch::Tensor> inputs_, params_, weights_t_, activations_, jit_outputs_, native_outputs_;
  torch::Tensor out_, cache_k_, cache_v_;
  torch::jit::script::Module module_;
  std::vector<torch::jit::IValue> jit_inputs_;
  std::function<void()> run_;
  std::string error_;
  double max_error_ = 0.0;
};

bool g_failed = false;

void run_case(benchmark::State& state, Workload& workload, int threads) {
  torch::NoGradGuard no_grad;
  set_threads(threads);
  std::function<void()> run;
  try {
    run = workload.run();
  } catch (const std::exception& error) {  // one broken case must not hide the others
    g_failed = true;
    state.SkipWithError(error.what());
    return;
  }
  for (int i = 0; i < 3; ++i) run();  // warm-up: BLAS buffers, OpenMP team, first-touch pages
  // Wall time, measured here: Google Benchmark's rate counters divide by the main thread's
  // CPU time (or need UseRealTime, which appends /real_time to every name).
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) run();
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  state.counters["intra_op_threads"] = threads;
  state.counters["max_rel_err"] = workload.max_error();
  if (workload.flops() > 0 && wall.count() > 0) {
    state.counters["FLOPS"] = workload.flops() * static_cast<double>(state.iterations()) / wall.count();
  }
}

// Takes --manifest=PATH and --threads=1,2 out of argv; Google Benchmark gets the rest.
struct Options {
  std::string manifest;
  std::vector<int> threads{1, 2};
};

Options take_options(int& argc, char** argv) {
  Options options;
  if (const char* env = std::getenv("MMM_PEER_MANIFEST")) options.manifest = env;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--manifest=", 0) == 0) {
      options.manifest = arg.substr(11);
    } else if (arg.rfind("--threads=", 0) == 0) {
      options.threads.clear();
      std::stringstream list(arg.substr(10));
      for (std::string item; std::getline(list, item, ',');) {
        const int n = std::atoi(item.c_str());
        if (n < 1) throw std::runtime_error("--threads: '" + item + "' is not a positive count");
        options.threads.push_back(n);
      }
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (options.manifest.empty()) {
    throw std::runtime_error("give --manifest=PATH (export_workloads.py's manifest.json) or MMM_PEER_MANIFEST");
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = take_options(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::ifstream in(options.manifest);
  if (!in) throw std::runtime_error(options.manifest + ": cannot open the manifest");
  const Json manifest = Json::parse(in);
  // Case files live in the manifest's "dir" (the shared export cache), else beside it.
  const fs::path dir = manifest.contains("dir") ? fs::path(manifest["dir"].get<std::string>())
                                                : fs::absolute(options.manifest).parent_path();

  benchmark::AddCustomContext("peer", "libtorch " TORCH_VERSION);
  benchmark::AddCustomContext("blas", blas().describe());
  benchmark::AddCustomContext("aten_cpu_capability", cpu_capability());
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  benchmark::AddCustomContext("omp_wait_policy", wait_policy != nullptr ? wait_policy : "(unset)");
  benchmark::AddCustomContext("threads_note", "threads:N is ATen's (and OpenBLAS's) intra-op thread count");

  std::vector<std::unique_ptr<Workload>> workloads;
  for (const Json& entry : manifest.at("cases")) {
    const auto peers = entry.value("peers", std::vector<std::string>{"libtorch"});
    if (std::find(peers.begin(), peers.end(), "libtorch") == peers.end()) continue;
    workloads.push_back(std::make_unique<Workload>(dir, entry));
    Workload& workload = *workloads.back();
    for (const int threads : options.threads) {
      const std::string name = "libtorch/" + entry.at("name").get<std::string>() + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), [&workload, threads](benchmark::State& state) {
        run_case(state, workload, threads);
      })->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return g_failed ? 1 : 0;
} catch (const std::exception& error) {
  std::cerr << "bench_libtorch: " << error.what() << "\n";
  return 1;
}
