#pragma once
// Binding a model's parameters to tensors in a safetensors file by state_dict name.
//
// load() checks everything before it changes anything: each parameter the model has must
// be in the file with the same shape and a float dtype, and nothing else may be in the
// file under the prefix (entries a module declares unused, such as BatchNorm's
// num_batches_tracked, may be there or not, in any dtype). All problems are reported in one ParameterError, so that an
// export is fixed in one go. On success it copies the weights in and calls prepare().

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/io/safetensors.hpp"

namespace mmm {

// A state_dict: every parameter of the model, by name, in visiting order.
template <Module M>
std::vector<std::pair<std::string, const Tensor*>> state_dict(const M& model, const std::string& prefix = "") {
  std::vector<std::pair<std::string, const Tensor*>> out;
  model.visit_parameters([&](const std::string& name, const Tensor& t) { out.emplace_back(name, &t); }, prefix);
  return out;
}

// Loads parameters named prefix + "." + state_dict name (or just the name without a prefix).
template <Module M>
void load(M& model, const SafeTensors& file, const std::string& prefix = "") try {
  std::vector<std::string> missing, mismatched;
  std::vector<std::pair<std::string, Tensor*>> bound;
  std::set<std::string> used;

  struct Binder {
    const SafeTensors& file;
    std::vector<std::string>& missing;
    std::vector<std::string>& mismatched;
    std::vector<std::pair<std::string, Tensor*>>& bound;
    std::set<std::string>& used;

    void operator()(const std::string& name, Tensor& param) const {
      if (!file.contains(name)) {
        missing.push_back(name + " " + param.shape().str());
        return;
      }
      used.insert(name);
      const TensorInfo& info = file.info(name);
      std::string problem;
      if (!is_loadable_float(info.dtype))
        problem = "dtype " + std::string(mmm::name(info.dtype)) + " (a parameter needs F32, F16, BF16 or F64)";
      if (!(info.shape == param.shape()))
        problem += std::string(problem.empty() ? "" : "; ") + "shape " + info.shape.str() + " in the file, the model needs " +
                   param.shape().str();
      if (!problem.empty()) mismatched.push_back(name + ": " + problem);
      else bound.emplace_back(name, &param);
    }
    // A name torch saves that the model reads nothing from (BatchNorm's num_batches_tracked).
    void operator()(const std::string& name, UnusedEntry) const {
      if (file.contains(name)) used.insert(name);
    }
  };
  model.visit_parameters(Binder{file, missing, mismatched, bound, used}, prefix);

  std::vector<std::string> unexpected;
  const std::string scope = prefix.empty() ? "" : prefix + ".";
  for (const std::string& name : file.names())
    if (name.starts_with(scope) && !used.count(name)) unexpected.push_back(name);

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = "cannot load " + M::name() + " from '" + file.path() + "'" +
                      (prefix.empty() ? "" : " (prefix '" + prefix + "')") + ":";
    auto section = [&](const char* title, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg += "\n  " + std::string(title) + " (" + std::to_string(names.size()) + "):";
      for (const std::string& n : names) msg += "\n    " + n;
    };
    section("missing from the file", missing);
    section("in the file but not in the model", unexpected);
    section("wrong shape or dtype", mismatched);
    throw ParameterError(std::move(msg), std::move(missing), std::move(unexpected), std::move(mismatched));
  }

  for (auto& [name, param] : bound) file.read_floats(name, param->data());
  prepare_if_needed(model);
} catch (...) {
  rethrow_allocation_failure([&] { return "loading " + M::name() + " from '" + file.path() + "'"; });
}

// FileAccess::copy reads the file into memory first: for a file that may be truncated
// or rewritten while it is being read (see io/mapped_file.hpp).
template <Module M>
void load(M& model, const std::string& path, const std::string& prefix = "", FileAccess access = FileAccess::map) {
  load(model, SafeTensors(path, access), prefix);
}

// Writes the model's parameters as float32 safetensors under their state_dict names.
template <Module M>
void save(const M& model, const std::string& path, const std::map<std::string, std::string>& metadata = {}) {
  std::vector<TensorEntry> entries;
  for (const auto& [name, t] : state_dict(model)) entries.emplace_back(name, t->view());
  save_safetensors(path, std::move(entries), metadata);
}

}  // namespace mmm
