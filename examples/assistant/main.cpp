// The assistant program: task.cpp with this example's weights and shipped questions.
#include "../support/example.hpp"

namespace assistant {
int run(const examples::Invocation& how);
}

int main(int argc, char** argv) { return assistant::run(examples::Invocation::of_example(argc, argv, MMM_EXAMPLE_DIR)); }
