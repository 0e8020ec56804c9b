// The draw program: task.cpp with this example's weights and shipped prompts.
#include <string>

#include "../support/example.hpp"

namespace draw {
int run(const examples::Invocation& how);
}

int main(int argc, char** argv) {
  examples::Invocation how = examples::Invocation::of_example(argc, argv, MMM_EXAMPLE_DIR);
  how.shipped = std::string(MMM_EXAMPLE_DIR) + "/prompts.txt";  // prompts, not an inputs.tsv of files
  return draw::run(how);
}
