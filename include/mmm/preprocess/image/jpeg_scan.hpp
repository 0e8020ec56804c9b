#pragma once
// A walk through a JPEG's entropy-coded data, as stb_image 2.27 will decode it, before it
// does: every Huffman code and every coefficient's bits, block by block, scan by scan,
// without the dequantization, IDCT and colour work. It refuses (FormatError) what makes
// that stb version do something undefined:
//   - a scan whose data ends (a marker, or the end of the file) inside a block: stb's bit
//     reader then counts its bits below zero and shifts by 32 or more (found by the image
//     fuzzer: "shift exponent 32" in stbi__grow_buffer_unsafe);
//   - DC values whose running sum, or whose product with the quantization step (or the
//     progressive shift), overflows an int in stb's arithmetic;
// and what stb would refuse anyway (invalid codes, bad scan parameters), so that what it
// lets through is exactly what stb decodes without reading past a scan's data. Valid
// JPEGs never need either. It follows stb where stb departs from the standard (its
// 16-bit coefficient storage, which can wrap a progressive coefficient to zero and so
// change which refinement bits are read; the end of a restart interval without a RST
// marker ends the scan). libjpeg-turbo, when used, needs none of this.
//
// Cost: one pass over the data, a 64-bit mask per block for progressive JPEGs.

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/errors.hpp"

namespace mmm::detail::jpeg {

[[noreturn]] inline void corrupt(const std::string& what, const std::string& why) {
  throw FormatError(what + ": corrupt JPEG: " + why);
}

// A canonical Huffman table from a DHT segment.
struct Huffman {
  bool defined = false;
  std::array<std::uint16_t, 512> fast{};  // by the next 9 bits: (length << 8 | symbol), 0 if longer
  std::array<std::int32_t, 18> maxcode{}, mincode{}, first{};  // per code length
  std::array<std::uint8_t, 256> values{};

  // As stbi__build_huffman: code lengths that overflow their bit count are refused.
  void build(const std::uint8_t* counts, const std::uint8_t* symbols, const std::string& what) {
    fast.fill(0);
    std::int32_t code = 0, k = 0;
    for (int length = 1; length <= 16; ++length) {
      const int n = counts[length - 1];
      first[static_cast<std::size_t>(length)] = k;
      mincode[static_cast<std::size_t>(length)] = code;
      for (int i = 0; i < n; ++i, ++code, ++k) {
        // Checked before the code fills the fast table (it would index past its end).
        if (code >= (1 << length)) corrupt(what, "a Huffman table's code lengths overflow");
        values[static_cast<std::size_t>(k)] = symbols[k];
        if (length <= 9)
          for (std::int32_t fill = code << (9 - length), end = (code + 1) << (9 - length); fill < end; ++fill)
            fast[static_cast<std::size_t>(fill)] = static_cast<std::uint16_t>(length << 8 | symbols[k]);
      }
      maxcode[static_cast<std::size_t>(length)] = n ? code - 1 : -1;
      code <<= 1;
    }
    defined = true;
  }
};

// The bits of one stretch of entropy-coded data (a scan, or one restart interval of it):
// stuffed 0xFF 0x00 pairs are one 0xFF byte, fill bytes before a marker are skipped, and
// a marker or the end of the file ends the data. Asking for bits past that end fails.
class Bits {
 public:
  Bits(std::span<const std::uint8_t> b, std::size_t at) : b_(b), pos_(at) {}

  std::uint32_t peek16() {
    if (count_ < 16) fill();
    return static_cast<std::uint32_t>(buffer_ >> 48);
  }
  bool skip(int n) {
    if (count_ < n) fill();
    if (count_ < n) return false;
    buffer_ <<= n;
    count_ -= n;
    return true;
  }
  bool get(int n, std::uint32_t& v) {
    if (n == 0) {
      v = 0;
      return true;
    }
    if (count_ < n) fill();
    if (count_ < n) return false;
    v = static_cast<std::uint32_t>(buffer_ >> (64 - n));
    buffer_ <<= n;
    count_ -= n;
    return true;
  }
  // Where the marker after this data starts (the data's padding and any garbage before
  // it skipped), or the file's size when there is none.
  std::size_t next_marker() {
    if (ended_) return end_;
    for (std::size_t i = pos_; i + 1 < b_.size(); ++i) {
      if (b_[i] != 0xFF) continue;
      std::size_t q = i + 1;
      while (q < b_.size() && b_[q] == 0xFF) ++q;
      if (q < b_.size() && b_[q] != 0x00) return q - 1;
      i = q;
    }
    return b_.size();
  }

 private:
  void fill() {
    while (count_ <= 56 && !ended_) {
      if (pos_ >= b_.size()) {
        ended_ = true, end_ = b_.size();
        break;
      }
      std::uint8_t c = b_[pos_];
      if (c == 0xFF) {
        std::size_t q = pos_ + 1;
        while (q < b_.size() && b_[q] == 0xFF) ++q;
        if (q < b_.size() && b_[q] == 0x00) {
          pos_ = q + 1;
        } else {
          ended_ = true, end_ = q - 1;  // the marker's last 0xFF
          break;
        }
      } else {
        ++pos_;
      }
      buffer_ |= static_cast<std::uint64_t>(c) << (56 - count_);
      count_ += 8;
    }
  }

  std::span<const std::uint8_t> b_;
  std::size_t pos_, end_ = 0;
  std::uint64_t buffer_ = 0;
  int count_ = 0;
  bool ended_ = false;
};

struct Component {
  int id = 0, h = 1, v = 1, tq = 0;
  int blocks_w = 0, blocks_h = 0;  // of its own pixels (non-interleaved scans)
  int coeff_w = 0, coeff_h = 0;    // of whole MCUs (stb's coefficient grid)
  std::vector<std::uint64_t> nonzero;  // progressive: per block, which coefficients stb holds as non-zero
  std::int64_t dc = 0;
  int dc_table = 0, ac_table = 0;
};

class Walk {
 public:
  Walk(std::span<const std::uint8_t> b, const std::string& what) : b_(b), what_(what) {}

  void run(std::size_t i) {
    while (true) {
      if (i >= b_.size()) return;  // no EOI: stb fails there
      if (b_[i] != 0xFF) {
        // Bytes between segments: skipped before the frame as stb does, and after it stb
        // fails on them (so nothing after is decoded).
        if (components_.empty()) {
          ++i;
          continue;
        }
        return;
      }
      while (i + 1 < b_.size() && b_[i + 1] == 0xFF) ++i;
      if (i + 1 >= b_.size()) return;
      const std::uint8_t m = b_[i + 1];
      if (m == 0xD9) return;  // EOI
      if (i + 4 > b_.size()) return;
      const std::size_t length = (std::size_t(b_[i + 2]) << 8) | b_[i + 3];
      const std::size_t begin = i + 4, end = i + 2 + length;
      if (length < 2 || end > b_.size()) corrupt(what_, "a segment runs past the end of the data");
      switch (m) {
        case 0xC0: case 0xC1: case 0xC2: frame(begin, end, m == 0xC2); i = end; break;
        case 0xC4: huffman(begin, end); i = end; break;
        case 0xDB: quantization(begin, end); i = end; break;
        case 0xDD:
          if (length != 4) corrupt(what_, "a DRI segment of " + std::to_string(length) + " bytes");
          restart_interval_ = (int(b_[begin]) << 8) | b_[begin + 1];
          i = end;
          break;
        case 0xDA: i = scan(begin, end); break;
        default:
          if ((m >= 0xE0 && m <= 0xEF) || m == 0xFE || m == 0xDC) {  // APPn, COM, DNL
            i = end;
            break;
          }
          return;  // stb refuses any other marker: it decodes nothing after it
      }
    }
  }

 private:
  void frame(std::size_t begin, std::size_t end, bool progressive) {
    if (!components_.empty()) return corrupt(what_, "a second frame header");
    if (end - begin < 6) corrupt(what_, "a frame header shorter than 8 bytes");
    const int height = (int(b_[begin + 1]) << 8) | b_[begin + 2], width = (int(b_[begin + 3]) << 8) | b_[begin + 4];
    const int n = b_[begin + 5];
    if (b_[begin] != 8 || height == 0 || width == 0 || (n != 1 && n != 3 && n != 4) || end - begin != 6 + 3 * std::size_t(n))
      corrupt(what_, "a frame header stb does not decode");
    progressive_ = progressive;
    components_.resize(static_cast<std::size_t>(n));
    int h_max = 1, v_max = 1;
    for (int c = 0; c < n; ++c) {
      Component& k = components_[static_cast<std::size_t>(c)];
      const std::size_t at = begin + 6 + 3 * std::size_t(c);
      k.id = b_[at], k.h = b_[at + 1] >> 4, k.v = b_[at + 1] & 15, k.tq = b_[at + 2];
      if (k.h < 1 || k.h > 4 || k.v < 1 || k.v > 4 || k.tq > 3) corrupt(what_, "a frame component with bad sampling");
      h_max = std::max(h_max, k.h), v_max = std::max(v_max, k.v);
    }
    mcus_x_ = (width + 8 * h_max - 1) / (8 * h_max);
    mcus_y_ = (height + 8 * v_max - 1) / (8 * v_max);
    for (Component& k : components_) {
      if (h_max % k.h || v_max % k.v) corrupt(what_, "sampling factors that are not integer ratios");
      const int x = (width * k.h + h_max - 1) / h_max, y = (height * k.v + v_max - 1) / v_max;
      k.blocks_w = (x + 7) / 8, k.blocks_h = (y + 7) / 8;
      k.coeff_w = mcus_x_ * k.h, k.coeff_h = mcus_y_ * k.v;
      if (progressive_) k.nonzero.assign(std::size_t(k.coeff_w) * std::size_t(k.coeff_h), 0);
    }
  }

  void huffman(std::size_t p, std::size_t end) {
    while (p < end) {
      if (p + 17 > end) corrupt(what_, "a Huffman table header runs past its segment");
      const int cls = b_[p] >> 4, id = b_[p] & 15;
      if (cls > 1 || id > 3) corrupt(what_, "a Huffman table with class/id " + std::to_string(b_[p]));
      std::size_t count = 0;
      for (int k = 1; k <= 16; ++k) count += b_[p + std::size_t(k)];
      if (count > 256 || p + 17 + count > end) corrupt(what_, "a Huffman table runs past its segment");
      tables_[std::size_t(cls)][std::size_t(id)].build(&b_[p + 1], &b_[p + 17], what_);
      p += 17 + count;
    }
  }

  void quantization(std::size_t p, std::size_t end) {
    while (p < end) {
      const int precision = b_[p] >> 4, id = b_[p] & 15;
      if (precision > 1 || id > 3) corrupt(what_, "a quantization table with precision/id " + std::to_string(b_[p]));
      const std::size_t size = precision ? 128 : 64;
      if (p + 1 + size > end) corrupt(what_, "a quantization table runs past its segment");
      dc_step_[std::size_t(id)] = precision ? (int(b_[p + 1]) << 8) | b_[p + 2] : b_[p + 1];
      p += 1 + size;
    }
  }

  // Returns where the next marker is.
  std::size_t scan(std::size_t begin, std::size_t end) {
    if (components_.empty()) corrupt(what_, "a scan before the frame header");
    const int n = b_[begin];
    if (n < 1 || n > 4 || n > int(components_.size()) || end - begin != 4 + 2 * std::size_t(n))
      corrupt(what_, "a scan header stb does not decode");
    scan_.clear();
    for (int k = 0; k < n; ++k) {
      const int id = b_[begin + 1 + 2 * std::size_t(k)], tables = b_[begin + 2 + 2 * std::size_t(k)];
      Component* c = nullptr;
      for (Component& x : components_)
        if (x.id == id) c = &x;
      if (!c) corrupt(what_, "a scan of a component the frame does not have");
      c->dc_table = tables >> 4, c->ac_table = tables & 15;
      if (c->dc_table > 3 || c->ac_table > 3) corrupt(what_, "a scan with Huffman table ids past 3");
      scan_.push_back(c);
    }
    ss_ = b_[end - 3], se_ = b_[end - 2], ah_ = b_[end - 1] >> 4, al_ = b_[end - 1] & 15;
    if (progressive_) {
      if (ss_ > 63 || se_ > 63 || ss_ > se_ || ah_ > 13 || al_ > 13) corrupt(what_, "a progressive scan with bad parameters");
      if (ss_ == 0 && se_ != 0) corrupt(what_, "a progressive scan that mixes DC and AC coefficients");
      if (ss_ > 0 && n > 1) corrupt(what_, "a progressive AC scan of several components");
    } else {
      if (ss_ != 0 || ah_ != 0 || al_ != 0) corrupt(what_, "a sequential scan with progressive parameters");
      se_ = 63;
    }
    for (Component* c : scan_) {
      const bool dc = ss_ == 0 && !(progressive_ && ah_ != 0), ac = !progressive_ || ss_ > 0;
      if ((dc && !tables_[0][std::size_t(c->dc_table)].defined) || (ac && !tables_[1][std::size_t(c->ac_table)].defined))
        corrupt(what_, "a scan uses a Huffman table that was not defined");
    }
    return entropy_coded_data(end);
  }

  void reset() {
    for (Component& c : components_) c.dc = 0;
    eob_run_ = 0;
  }

  std::size_t entropy_coded_data(std::size_t at) {
    reset();
    Bits bits(b_, at);
    int mcus_before_restart = restart_interval_ ? restart_interval_ : std::numeric_limits<int>::max();
    // After each MCU: at the end of a restart interval, a RST marker starts the next one;
    // anything else ends the scan (as in stb). Returns false when the scan ends.
    auto next = [&]() {
      if (--mcus_before_restart > 0) return true;
      const std::size_t m = bits.next_marker();
      if (m + 1 >= b_.size() || b_[m + 1] < 0xD0 || b_[m + 1] > 0xD7) return false;
      bits = Bits(b_, m + 2);
      reset();
      mcus_before_restart = restart_interval_ ? restart_interval_ : std::numeric_limits<int>::max();
      return true;
    };
    if (scan_.size() == 1) {
      Component& c = *scan_[0];
      for (int j = 0; j < c.blocks_h; ++j)
        for (int i = 0; i < c.blocks_w; ++i) {
          block(bits, c, std::size_t(i) + std::size_t(j) * std::size_t(c.coeff_w));
          if (!next()) return bits.next_marker();
        }
    } else {
      for (int j = 0; j < mcus_y_; ++j)
        for (int i = 0; i < mcus_x_; ++i) {
          for (Component* c : scan_)
            for (int y = 0; y < c->v; ++y)
              for (int x = 0; x < c->h; ++x)
                block(bits, *c, std::size_t(i * c->h + x) + std::size_t(j * c->v + y) * std::size_t(c->coeff_w));
          if (!next()) return bits.next_marker();
        }
    }
    return bits.next_marker();
  }

  [[noreturn]] void ends_early() const {
    corrupt(what_, "a scan's data ends in the middle of a block (truncated or damaged)");
  }
  int decode(Bits& bits, const Huffman& t) {
    const std::uint32_t peek = bits.peek16();
    if (const std::uint16_t f = t.fast[peek >> 7]) {
      if (!bits.skip(f >> 8)) ends_early();
      return f & 0xFF;
    }
    for (int length = 10; length <= 16; ++length) {
      const auto code = static_cast<std::int32_t>(peek >> (16 - length));
      if (code <= t.maxcode[std::size_t(length)]) {
        if (!bits.skip(length)) ends_early();
        return t.values[std::size_t(t.first[std::size_t(length)] + code - t.mincode[std::size_t(length)])];
      }
    }
    corrupt(what_, "an invalid Huffman code");
  }
  std::uint32_t get(Bits& bits, int n) {
    std::uint32_t v;
    if (!bits.get(n, v)) ends_early();
    return v;
  }
  // JPEG's EXTEND: n bits as a signed magnitude category.
  std::int32_t receive(Bits& bits, int n) {
    const std::uint32_t v = get(bits, n);
    return n == 0 ? 0 : (v < (1u << (n - 1)) ? static_cast<std::int32_t>(v) - (1 << n) + 1 : static_cast<std::int32_t>(v));
  }
  void dc(Bits& bits, Component& c, std::int64_t scale) {
    const int t = decode(bits, tables_[0][std::size_t(c.dc_table)]);
    if (t > 15) corrupt(what_, "a DC difference of more than 15 bits");
    c.dc += receive(bits, t);
    constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min(), hi = std::numeric_limits<std::int32_t>::max();
    if (c.dc < lo || c.dc > hi || c.dc * scale < lo || c.dc * scale > hi)
      corrupt(what_, "DC values that overflow (" + std::to_string(c.dc) + " × " + std::to_string(scale) + ")");
  }

  void block(Bits& bits, Component& c, std::size_t index) {
    if (!progressive_) {
      dc(bits, c, dc_step_[std::size_t(c.tq)]);
      const Huffman& ac = tables_[1][std::size_t(c.ac_table)];
      for (int k = 1; k < 64;) {
        const int rs = decode(bits, ac), r = rs >> 4, s = rs & 15;
        if (s == 0) {
          if (rs != 0xF0) break;
          k += 16;
        } else {
          k += r;
          get(bits, s);
          ++k;
        }
      }
      return;
    }
    std::uint64_t& nonzero = c.nonzero[index];
    if (ss_ == 0) {  // DC
      if (ah_ == 0) {
        nonzero = 0;  // stb zeroes the block's coefficients in the first DC scan
        dc(bits, c, std::int64_t{1} << al_);
      } else {
        get(bits, 1);
      }
      return;
    }
    const Huffman& ac = tables_[1][std::size_t(c.ac_table)];
    if (ah_ == 0) {  // first AC scan
      if (eob_run_) {
        --eob_run_;
        return;
      }
      for (int k = ss_; k <= se_;) {
        const int rs = decode(bits, ac), r = rs >> 4, s = rs & 15;
        if (s == 0) {
          if (r < 15) {
            eob_run_ = (1 << r) - 1 + static_cast<int>(get(bits, r));
            break;
          }
          k += 16;
        } else {
          k += r;
          const std::int32_t v = receive(bits, s);
          // stb keeps the coefficient as a short: v · 2^al may wrap to 0
          if (((static_cast<std::int64_t>(v) * (std::int64_t{1} << al_)) & 0xFFFF) != 0) nonzero |= std::uint64_t{1} << std::min(k, 63);
          ++k;
        }
      }
      return;
    }
    // AC refinement: a correction bit for each coefficient already non-zero.
    if (eob_run_) {
      --eob_run_;
      for (int k = ss_; k <= se_; ++k)
        if (nonzero >> k & 1) get(bits, 1);
      return;
    }
    for (int k = ss_; k <= se_;) {
      const int rs = decode(bits, ac);
      int r = rs >> 4, s = rs & 15;
      if (s == 0) {
        if (r < 15) {
          eob_run_ = (1 << r) - 1 + static_cast<int>(get(bits, r));
          r = 64;  // to the end of the block
        }
      } else {
        if (s != 1) corrupt(what_, "a refinement scan's coefficient of more than one bit");
        get(bits, 1);  // the sign
      }
      while (k <= se_) {
        const int z = k++;
        if (nonzero >> z & 1) {
          get(bits, 1);
        } else {
          if (r == 0) {
            if (s != 0) nonzero |= std::uint64_t{1} << z;
            break;
          }
          --r;
        }
      }
    }
  }

  std::span<const std::uint8_t> b_;
  const std::string& what_;
  std::vector<Component> components_;
  std::vector<Component*> scan_;
  std::array<std::array<Huffman, 4>, 2> tables_{};
  std::array<std::int64_t, 4> dc_step_{};
  bool progressive_ = false;
  int mcus_x_ = 0, mcus_y_ = 0, restart_interval_ = 0;
  int ss_ = 0, se_ = 63, ah_ = 0, al_ = 0, eob_run_ = 0;
};

}  // namespace mmm::detail::jpeg

namespace mmm::detail {

// Walks the JPEG (whose segments check_jpeg_segments has checked) from the byte after its
// SOI marker, `start`; FormatError for anything stb 2.27 would decode out of bounds.
inline void check_jpeg_scans(std::span<const std::uint8_t> bytes, std::size_t start, const std::string& what) {
  jpeg::Walk(bytes, what).run(start);
}

}  // namespace mmm::detail
