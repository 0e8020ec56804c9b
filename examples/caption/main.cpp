// The caption program: task.cpp with this example's weights and shipped scenes.
#include "../support/example.hpp"

namespace caption {
int run(const examples::Invocation& how);
}

int main(int argc, char** argv) { return caption::run(examples::Invocation::of_example(argc, argv, MMM_EXAMPLE_DIR)); }
