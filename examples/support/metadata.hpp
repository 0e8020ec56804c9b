#pragma once
// What the examples read from their weights' metadata besides the tensors: word lists that
// must match the model's embedding or output sizes.

#include <string>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/io/safetensors.hpp"

namespace examples {

// The metadata's list `key` (a JSON array of strings), which must hold `count` entries: a
// vocabulary or label list saved beside the weights it indexes. `what` names the entries in
// the error ("words", "answers").
inline std::vector<std::string> metadata_list(const mmm::SafeTensors& weights, const std::string& key, mmm::Index count,
                                              const std::string& what) {
  std::vector<std::string> list = weights.metadata_strings(key);
  if (static_cast<mmm::Index>(list.size()) != count)
    throw mmm::FormatError(weights.path() + ": " + std::to_string(list.size()) + " " + what + " in the metadata's '" + key +
                           "', the model has " + std::to_string(count));
  return list;
}

}  // namespace examples
