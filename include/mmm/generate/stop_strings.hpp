#pragma once
// StopStrings: watches the text each row generates, one token's piece at a time, and says
// when it reaches one of the stop strings — also when a stop string spans several tokens
// ("\n\n" from "\n" then "\n", "User:" from "Us" + "er:"). Only generated text counts, not
// the prompt. A row stops at the token that completes a stop string (that token included:
// its piece may go past the stop string's end, as in other generation libraries).
//
// Each row keeps the last (longest stop string − 1) bytes of its text, in memory taken from
// the Workspace when decoding starts; appending a piece allocates nothing. Pieces are raw
// bytes (a byte-level BPE token's bytes, a SentencePiece piece with ▁ already replaced):
// matching is byte for byte, so UTF-8 stop strings match across token boundaries too.

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "mmm/core/errors.hpp"
#include "mmm/core/workspace.hpp"

namespace mmm::generate {

class StopStrings {
 public:
  StopStrings() = default;

  StopStrings(std::span<const std::string> stops, index rows, Workspace& ws) : stops_(stops) {
    index longest = 0;
    for (const std::string& s : stops) {
      if (s.empty()) throw RangeError("stop strings: an empty stop string would stop every row before its first token");
      longest = std::max(longest, static_cast<index>(s.size()));
    }
    keep_ = longest > 0 ? longest - 1 : 0;
    tails_ = ws.allocate<char>(checked_mul(rows, keep_, "StopStrings"));
    tail_lengths_ = ws.allocate<index>(rows);
    for (index r = 0; r < rows; ++r) tail_lengths_[r] = 0;
  }

  bool empty() const noexcept { return stops_.empty(); }

  // Appends `piece` to row `row`'s text; true when a stop string now ends inside it.
  bool append(index row, std::string_view piece) noexcept {
    char* tail = tails_ + row * keep_;
    const index kept = tail_lengths_[row];
    const index n = static_cast<index>(piece.size());
    auto at = [&](index i) { return i < kept ? tail[i] : piece[static_cast<std::size_t>(i - kept)]; };
    bool hit = false;
    for (const std::string& s : stops_) {
      const index len = static_cast<index>(s.size());
      // Every end position inside the new piece, earliest first.
      for (index end = std::max(kept + 1, len); end <= kept + n && !hit; ++end) {
        index i = 0;
        while (i < len && at(end - len + i) == s[static_cast<std::size_t>(i)]) ++i;
        hit = i == len;
      }
      if (hit) break;
    }
    // Keep the last keep_ bytes of tail + piece.
    const index total = kept + n, keep = std::min(keep_, total);
    if (keep_ > 0) {
      const index from = total - keep;
      for (index i = 0; i < keep; ++i) tail[i] = at(from + i);  // from ≥ i: reads before the write
    }
    tail_lengths_[row] = keep;
    return hit;
  }

 private:
  std::span<const std::string> stops_;
  index keep_ = 0;
  char* tails_ = nullptr;
  index* tail_lengths_ = nullptr;
};

}  // namespace mmm::generate
