#pragma once
// Two threads sharing a recurrent layer's steps (and a one-row token's layers and head)
// even at the small test sizes, where the tuning would keep them on one: the team's code
// paths are tested on the shapes the oracle cases have. Restores both settings after.

#include "mmm/core/threading.hpp"
#include "mmm/kernels/recurrent.hpp"

namespace mmm::test {

class ForcedTeam {
 public:
  ForcedTeam() : saved_(kernels::recurrent_tuning().min_team_macs) {
    kernels::recurrent_tuning().min_team_macs = 0;
    set_num_threads(2);
  }
  ~ForcedTeam() {
    kernels::recurrent_tuning().min_team_macs = saved_;
    set_num_threads(0);
  }
  ForcedTeam(const ForcedTeam&) = delete;
  ForcedTeam& operator=(const ForcedTeam&) = delete;

 private:
  index saved_;
};

}  // namespace mmm::test
