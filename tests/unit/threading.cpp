// with_team: the parallel calls of its body run on one standing team, every Index once,
// with barriers that hold, num_threads() as kernels expect it, and errors passed through.
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "mmm/core/threading.hpp"

using namespace mmm;

namespace {
struct Threads {
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(0); }
};
}  // namespace

TEST_CASE("with_team runs body on the calling thread and returns its result", "[threading]") {
  for (int n : {1, 2, 3}) {
    Threads threads(n);
    const std::thread::id caller = std::this_thread::get_id();
    int inside = -1;
    const int result = with_team(n, [&] {
      CHECK(std::this_thread::get_id() == caller);
      inside = num_threads();
      return 42;
    });
    CHECK(result == 42);
    CHECK(inside == (MMM_HAS_OPENMP ? n : 1));
    with_team(n, [&] { inside = 0; });  // a void body
    CHECK(inside == 0);
  }
}

TEST_CASE("parallel_for inside with_team covers every Index once, on the team", "[threading]") {
  for (int n : {2, 3}) {
    Threads threads(n);
    constexpr Index count = 1000;
    std::vector<std::atomic<int>> hits(count);
    std::atomic<int> calls{0}, nested_threads{0};
    with_team(n, [&] {
      // Many short calls in a row: each must start after the one before has ended everywhere.
      for (int round = 0; round < 500; ++round) {
        parallel_for(count, 1, [&](Index begin, Index end) {
          if (round == 0) {
            calls.fetch_add(1);
            nested_threads.fetch_add(num_threads());  // 1: a share runs on one thread
          }
          for (Index i = begin; i < end; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
        });
      }
    });
    for (const auto& h : hits) REQUIRE(h.load() == 500);
    if (MMM_HAS_OPENMP) {
      CHECK(calls.load() == n);
      CHECK(nested_threads.load() == n);
    }
  }
}

TEST_CASE("parallel_team inside with_team: barriers separate the phases, smaller teams work", "[threading]") {
  Threads threads(3);
  for (int members : {3, 2}) {
    std::vector<int> written(3, 0);
    std::atomic<int> wrong{0}, seen_size{0};
    with_team(3, [&] {
      for (int round = 1; round <= 200; ++round) {
        parallel_team(members, [&](const Team& team) {
          seen_size.store(team.size());
          written[static_cast<std::size_t>(team.rank())] = round;
          team.barrier();
          for (int r = 0; r < team.size(); ++r)
            if (written[static_cast<std::size_t>(r)] != round) wrong.fetch_add(1);
          team.barrier();  // nobody writes the next round before all have read this one
        });
      }
    });
    CHECK(wrong.load() == 0);
    CHECK(seen_size.load() == (MMM_HAS_OPENMP ? members : 1));
  }
}

TEST_CASE("with_team nests, passes exceptions through and can be used again after one", "[threading]") {
  Threads threads(2);
  int inner = -1;
  with_team(2, [&] {
    with_team(2, [&] { inner = num_threads(); });  // the outer team stays in charge
  });
  CHECK(inner == (MMM_HAS_OPENMP ? 2 : 1));
  REQUIRE_THROWS_WITH(with_team(2,
                                [&]() -> int {
                                  parallel_for(8, 1, [](Index, Index) {});
                                  throw std::runtime_error("from the body");
                                }),
                      "from the body");
  CHECK(num_threads() == 2);  // nothing of the team is left behind
  std::atomic<Index> sum{0};
  with_team(2, [&] { parallel_for(100, 1, [&](Index b, Index e) { sum.fetch_add(e - b); }); });
  CHECK(sum.load() == 100);
}
