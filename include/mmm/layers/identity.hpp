#pragma once
// Identity: gives its input back, as torch.nn.Identity; any kind, no parameters, no copy
// (the output views the input, which compositions then keep alive). Residual's default
// shortcut.

#include <string>

#include "mmm/compose/module_base.hpp"

namespace mmm {

struct Identity : ModuleBase<Identity, AnyFloatKind> {
  static std::string name() { return "Identity"; }

  template <FloatKind K>
  K forward(const K& x, Workspace&) const {
    return x;
  }
};

}  // namespace mmm
