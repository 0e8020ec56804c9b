#pragma once
// The one place that knows about threads. Kernels split work with parallel_for and
// parallel_team; users set the count with set_num_threads; with_team keeps one team
// running across the many short parallel calls of a decoding step. Without OpenMP
// everything runs on the calling thread.

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <thread>
#include <type_traits>

#include "mmm/core/tensor.hpp"

#if defined(MMM_USE_OPENMP) && defined(_OPENMP)
#include <omp.h>
#define MMM_HAS_OPENMP 1
#else
#define MMM_HAS_OPENMP 0
#endif

namespace mmm {

namespace detail {
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> n{0};  // 0: what OpenMP says
  return n;
}
}  // namespace detail

// Threads that kernels may use from now on; n <= 0 restores the default (OpenMP's).
// num_threads() (below the teams it counts) says how many a call may use now.
inline void set_num_threads(int n) { detail::thread_setting().store(n > 0 ? n : 0); }

// Spins until ready() holds: for waits of a few microseconds on another thread's flag,
// shorter than a sleep and a wake-up would take.
template <class Ready>
void spin_until(Ready&& ready) {
  while (!ready()) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}

namespace detail {
// Spins like spin_until, but after ~100 µs of spinning also yields the core at every turn:
// on a machine with more busy threads than cores the thread being waited for may need
// this core to get anywhere.
template <class Ready>
void spin_then_yield_until(Ready&& ready) {
  for (int spins = 0; !ready(); ++spins) {
    if (spins >= (1 << 14)) {
      std::this_thread::yield();
      continue;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}
}  // namespace detail

class SpinBarrier;

// The threads of one parallel_team call: who this is, how many there are, and a barrier
// that all of them must reach (for work in phases, such as packing a shared operand
// before anyone reads it).
class Team {
 public:
  Team(int rank, int size, SpinBarrier* spin = nullptr) : rank_(rank), size_(size), spin_(spin) {}
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  void barrier() const;

 private:
  int rank_, size_;
  SpinBarrier* spin_;  // with_team's members meet here, not at OpenMP's barrier
};

// A barrier for the threads of one parallel_team that never sleeps, for work in many short
// phases (a recurrent layer's steps, a few µs each): Team::barrier is OpenMP's, which under
// OMP_WAIT_POLICY=passive puts waiting threads to sleep and costs a wake-up per phase.
// Every member calls wait(team) at each phase boundary; it returns once all team.size()
// members have arrived. Spins, then yields, so an oversubscribed machine still progresses.
class SpinBarrier {
 public:
  void wait(const Team& team) {
    if (team.size() <= 1) return;
    const unsigned generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == team.size()) {
      arrived_.store(0, std::memory_order_relaxed);  // nobody arrives again before the release below
      generation_.store(generation + 1, std::memory_order_release);
    } else {
      detail::spin_then_yield_until([&] { return generation_.load(std::memory_order_acquire) != generation; });
    }
  }

 private:
  alignas(64) std::atomic<int> arrived_{0};          // own cache lines: the counter is written by
  alignas(64) std::atomic<unsigned> generation_{0};  // every arrival, the generation read by every waiter
};

inline void Team::barrier() const {
  if (size_ <= 1) return;
  if (spin_) {
    spin_->wait(*this);
    return;
  }
#if MMM_HAS_OPENMP
#pragma omp barrier
#endif
}

namespace detail {

// The threads of one with_team call between its parallel calls. The first thread runs the
// caller's body and hands each parallel call to the others as a job: a function and its
// context behind a generation counter, which the others spin on (then yield: a step's
// serial stretches are µs long, and an oversubscribed machine must still progress). Every
// member acknowledges every job, also one smaller than the team, so that the first thread
// never rewrites a job another may still be reading.
class StandingTeam {
 public:
  using Job = void (*)(void* context, const Team& team);

  explicit StandingTeam(int size) : size_(size) {}
  StandingTeam(const StandingTeam&) = delete;
  StandingTeam& operator=(const StandingTeam&) = delete;

  int size() const noexcept { return size_; }
  // On the first thread, before the first job (the others never read the size).
  void resize(int size) noexcept { size_ = size; }

  // On the first thread: runs job on members [0, members) and returns when all are done.
  void run(Job job, void* context, int members) {
    job_ = job;
    context_ = context;
    members_ = members;
    done_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    run_share(0);
    detail::spin_then_yield_until([&] { return done_.load(std::memory_order_acquire) == size_ - 1; });
  }

  // On the first thread, once the body has returned: lets the others leave serve().
  void stop() {
    job_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
  }

  // On every other thread, until stop().
  void serve(int rank) {
    unsigned seen = 0;
    for (;;) {
      detail::spin_then_yield_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      seen = generation_.load(std::memory_order_acquire);
      if (!job_) return;
      run_share(rank);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

 private:
  void run_share(int rank) {
    if (rank < members_) job_(context_, Team(rank, members_, &barrier_));
  }

  int size_;
  Job job_ = nullptr;
  void* context_ = nullptr;
  int members_ = 0;
  SpinBarrier barrier_;
  alignas(64) std::atomic<unsigned> generation_{0};
  alignas(64) std::atomic<int> done_{0};
};

// The team with_team holds, on its first thread while that thread runs the caller's body
// (not while it runs its own share of a parallel call).
inline StandingTeam*& standing_team() noexcept {
  thread_local StandingTeam* team = nullptr;
  return team;
}

// Runs body(team) on members [0, threads) of the standing team, with num_threads() 1 inside
// (a member's share runs on one thread, as inside an OpenMP region).
template <class Body>
void run_on_standing_team(StandingTeam& team, int threads, Body& body) {
  standing_team() = nullptr;
  team.run([](void* context, const Team& t) { (*static_cast<Body*>(context))(t); }, &body, threads);
  standing_team() = &team;
}

}  // namespace detail

// Threads a kernel called here may use. Inside an OpenMP parallel region this is 1, so
// that calling mmm from a user's own parallel loop never oversubscribes the machine
// (inside with_team, the size of its team).
// Threads OpenMP does not know about (std::thread pools) are not detected: a program that
// runs mmm on several of those calls set_num_threads(1). On a machine shared with other
// busy processes, OMP_WAIT_POLICY=passive keeps idle OpenMP workers from spinning against
// them (with libgomp's default spinning, 2-thread runs there can be slower than 1).
inline int num_threads() {
#if MMM_HAS_OPENMP
  if (const detail::StandingTeam* team = detail::standing_team()) return team->size();
  if (omp_in_parallel()) return 1;
  const int n = detail::thread_setting().load();
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

// Calls body(team) once on each of up to `threads` threads (capped by num_threads()); the
// team may be smaller than asked for, so the body splits its work by team.size().
template <class Body>
void parallel_team(int threads, Body&& body) {
  threads = std::min(threads, num_threads());
  if (threads <= 1) {
    body(Team(0, 1));
    return;
  }
  if (detail::StandingTeam* team = detail::standing_team()) {
    detail::run_on_standing_team(*team, threads, body);
    return;
  }
#if MMM_HAS_OPENMP
#pragma omp parallel num_threads(threads)
  body(Team(omp_get_thread_num(), omp_get_num_threads()));
#else
  body(Team(0, 1));
#endif
}

// Calls body(begin, end) on disjoint chunks covering [0, count), on up to num_threads()
// threads; each chunk holds at least `grain` items (except the last).
template <class Body>
void parallel_for(index count, index grain, Body&& body) {
  if (count <= 0) return;
  const int threads = static_cast<int>(std::min<index>(num_threads(), std::max<index>(1, count / std::max<index>(grain, 1))));
  if (threads <= 1) {
    body(index{0}, count);
    return;
  }
  parallel_team(threads, [&](const Team& team) {
    const index begin = count * team.rank() / team.size(), end = count * (team.rank() + 1) / team.size();
    if (begin < end) body(begin, end);
  });
}

// The team for with_team around work of about `macs` multiply-adds, or that streams
// `weight_bytes` of weights for a few rows: the products in it split only from ~1e6
// multiply-adds or a megabyte of weights on (the GEMM's own rule), and a team for work
// none of whose products split would cost a region for nothing.
inline int team_threads(double macs, double weight_bytes = 0) {
  return macs >= 1e6 || weight_bytes >= (1 << 20) ? num_threads() : 1;
}

// Runs body() on the calling thread with a team of up to `threads` threads (capped by
// num_threads()) standing by, and returns what it returns: the parallel_for and
// parallel_team calls body makes run on that team, whose other members spin between them
// instead of sleeping until OpenMP wakes them. For a decoding step, some twenty parallel
// products of ~50–200 µs each with µs of serial work between: under
// OMP_WAIT_POLICY=passive each OpenMP region pays a wake-up of tens of µs on a VM, which
// made two threads slower than one. Nested in another with_team, or with one thread,
// body() simply runs. An exception from body leaves the team and is rethrown here.
template <class Body>
auto with_team(int threads, Body&& body) -> std::invoke_result_t<Body&> {
  using Result = std::invoke_result_t<Body&>;
  static_assert(!std::is_reference_v<Result>, "with_team returns what body returns, by value");
  threads = std::min(threads, num_threads());
  if (threads <= 1 || detail::standing_team()) return body();
#if MMM_HAS_OPENMP
  detail::StandingTeam team(threads);
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<Result>, bool, Result>> result;
#pragma omp parallel num_threads(threads)
  {
    const int rank = omp_get_thread_num();
    if (rank == 0) {
      team.resize(omp_get_num_threads());  // the region may be smaller than asked
      detail::standing_team() = &team;
      try {
        if constexpr (std::is_void_v<Result>) body();
        else result.emplace(body());
      } catch (...) {
        error = std::current_exception();
      }
      detail::standing_team() = nullptr;
      team.stop();
    } else {
      team.serve(rank);
    }
  }
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<Result>) return std::move(*result);
#else
  return body();
#endif
}

}  // namespace mmm
