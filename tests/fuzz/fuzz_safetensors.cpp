// libFuzzer target for the safetensors reader: any bytes must either parse into tensors
// that can all be decoded, or fail with mmm::FormatError/DTypeError/RangeError.
#include <cstddef>
#include <cstdint>
#include <span>

#include "mmm/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto st = mmm::SafeTensors::from_bytes({reinterpret_cast<const std::byte*>(data), size}, "fuzz");
    for (const std::string& name : st.names()) {
      const mmm::TensorInfo& info = st.info(name);
      try {
        if (mmm::is_loadable_float(info.dtype)) (void)st.tensor(name);
        else if (mmm::is_integer(info.dtype)) (void)st.int_tensor(name);
        else (void)st.raw(name);
      } catch (const mmm::RangeError&) {
      } catch (const mmm::DTypeError&) {
      }
    }
  } catch (const mmm::FormatError&) {
  }
  return 0;
}
