#pragma once
// tokenizer.json "model": BPE (merges by rank, byte fallback, unknown tokens fused or not,
// continuing-subword prefix, end-of-word suffix, ignore_merges), WordPiece (greedy longest
// match), Unigram (Viterbi over the pieces, unknown runs fused, byte fallback) and
// WordLevel, as Hugging Face's `tokenizers` runs them on one pre-tokenized piece. BPE
// dropout is refused (it makes encoding random).
//
// Vocabulary ids may leave gaps, but the largest must stay below twice the number of
// tokens plus 1024, so that a short file cannot demand a table of billions of entries.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/preprocess/text/json_fields.hpp"
#include "mmm/preprocess/text/pair_merge.hpp"
#include "mmm/preprocess/text/piece_table.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm::detail::hf {

namespace jf = json_fields;

// A token emitted by a model: its id and bytes [begin, end) of the piece.
struct ModelToken {
  std::int32_t id;
  std::uint32_t begin, end;
};

class Model {
 public:
  enum class Kind { bpe, wordpiece, unigram, wordlevel };

  static Model parse(const jf::Json& j, const std::string& where) {
    if (!j.is_object()) throw FormatError(where + " is " + jf::show(j) + ", expected an object");
    std::string type = jf::string(j, "type", "", where);
    if (type.empty()) {  // older files leave the type out; the fields tell
      if (jf::member(j, "merges")) type = "BPE";
      else if (jf::member(j, "max_input_chars_per_word")) type = "WordPiece";
      else if (jf::member(j, "vocab") && j["vocab"].is_array()) type = "Unigram";
      else type = "WordLevel";
    }
    Model m;
    if (type == "BPE") m.parse_bpe(j, where);
    else if (type == "WordPiece") m.parse_wordpiece(j, where);
    else if (type == "Unigram") m.parse_unigram(j, where);
    else if (type == "WordLevel") m.parse_wordlevel(j, where);
    else throw FormatError(where + ".type is \"" + type + "\", which mmm does not implement (BPE, WordPiece, Unigram, WordLevel)");
    return m;
  }

  Kind kind() const noexcept { return kind_; }
  // What the library calls get_vocab_size(): the number of entries (not the largest id + 1).
  std::size_t entries() const noexcept { return entries_; }
  std::size_t id_limit() const noexcept { return tokens_.size(); }
  // The token of an id, or null for an id with none.
  const std::string* token(std::int32_t id) const noexcept {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() || !has_[static_cast<std::size_t>(id)]) return nullptr;
    return &tokens_[static_cast<std::size_t>(id)];
  }
  std::int32_t token_to_id(std::string_view t) const noexcept { return vocab_.find(t); }
  const std::string& continuing_subword_prefix() const noexcept { return prefix_; }

  // Tokenizes one piece (the library's Model::tokenize); emit(ModelToken) for each token.
  template <class Emit>
  void tokenize(std::string_view piece, Emit&& emit) const {
    if (piece.empty()) return;
    switch (kind_) {
      case Kind::bpe: return bpe(piece, emit);
      case Kind::wordpiece: return wordpiece(piece, emit);
      case Kind::unigram: return unigram(piece, emit);
      case Kind::wordlevel: {
        const std::int32_t id = vocab_.find(piece);
        if (id >= 0) return emit(ModelToken{id, 0, static_cast<std::uint32_t>(piece.size())});
        if (unk_ < 0) throw RangeError("HfTokenizer: the WordLevel model has no unk_token for the unknown word '" + std::string(piece) + "'");
        return emit(ModelToken{unk_, 0, static_cast<std::uint32_t>(piece.size())});
      }
    }
  }

 private:
  // ---- reading --------------------------------------------------------------------------

  void set_token(std::int64_t id, const std::string& token, const std::string& where) {
    if (static_cast<std::size_t>(id) >= tokens_.size()) tokens_.resize(static_cast<std::size_t>(id) + 1), has_.resize(tokens_.size());
    if (has_[static_cast<std::size_t>(id)])
      throw FormatError(where + ": id " + std::to_string(id) + " is given to both '" + tokens_[static_cast<std::size_t>(id)] +
                        "' and '" + token + "'");
    tokens_[static_cast<std::size_t>(id)] = token;
    has_[static_cast<std::size_t>(id)] = true;
  }
  static std::int64_t id_bound(std::size_t count) {
    return checked_add(checked_mul(static_cast<std::ptrdiff_t>(count), 2, "tokenizer.json vocabulary"), 1024,
                       "tokenizer.json vocabulary");
  }

  // {"token": id, ...}
  void read_vocab_object(const jf::Json& v, const std::string& where) {
    if (!v.is_object()) throw FormatError(where + " is " + jf::show(v) + ", expected an object of token → id");
    entries_ = v.size();
    const std::int64_t bound = id_bound(v.size());
    for (const auto& [token, id_json] : v.items()) {
      const std::int64_t id = jf::integer(id_json, where + "[\"" + token + "\"]", 0, bound - 1);
      set_token(id, token, where);
      vocab_.insert(token, static_cast<std::int32_t>(id));  // a repeated key: JSON keeps the last
    }
  }
  std::int32_t vocab_id(const std::string& token, const std::string& where) const {
    const std::int32_t id = vocab_.find(token);
    if (id < 0) throw FormatError(where + " is '" + token + "', which is not in the vocabulary");
    return id;
  }
  std::int32_t optional_unk(const jf::Json& j, const std::string& where) const {
    const jf::Json* u = jf::member(j, "unk_token");
    if (!u || u->is_null()) return -1;
    if (!u->is_string()) throw FormatError(where + ".unk_token is " + jf::show(*u) + ", expected a string");
    return vocab_id(u->get<std::string>(), where + ".unk_token");
  }

  void parse_bpe(const jf::Json& j, const std::string& where) {
    kind_ = Kind::bpe;
    if (const jf::Json* d = jf::member(j, "dropout"); d && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
      throw FormatError(where + ".dropout is " + jf::show(*d) + "; BPE dropout makes encoding random, mmm refuses it");
    read_vocab_object(jf::required(j, "vocab", where), where + ".vocab");
    prefix_ = jf::string(j, "continuing_subword_prefix", "", where);
    suffix_ = jf::string(j, "end_of_word_suffix", "", where);
    fuse_unk_ = jf::boolean(j, "fuse_unk", false, where);
    byte_fallback_ = jf::boolean(j, "byte_fallback", false, where);
    ignore_merges_ = jf::boolean(j, "ignore_merges", false, where);
    unk_ = optional_unk(j, where);
    if (byte_fallback_)
      for (int b = 0; b < 256; ++b) byte_token_[static_cast<std::size_t>(b)] = vocab_.find(byte_name(b));
    const jf::Json* merges = jf::member(j, "merges");
    if (!merges || merges->is_null()) return;
    if (!merges->is_array()) throw FormatError(where + ".merges is " + jf::show(*merges) + ", expected an array");
    // A pair listed twice takes its last rank (the library collects the list into a map).
    for (std::size_t k = merges->size(); k-- > 0;) {
      const jf::Json& m = (*merges)[k];
      const std::string at = where + ".merges[" + std::to_string(k) + "]";
      std::string a, b;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const std::size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          throw FormatError(at + " is \"" + s + "\", expected two tokens separated by one space");
        a = s.substr(0, space), b = s.substr(space + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>(), b = m[1].get<std::string>();
      } else {
        throw FormatError(at + " is " + jf::show(m) + ", expected \"a b\" or [\"a\", \"b\"]");
      }
      const std::int32_t left = vocab_id(a, at + " (left)"), right = vocab_id(b, at + " (right)");
      if (b.size() < prefix_.size() || b.compare(0, prefix_.size(), prefix_) != 0)
        throw FormatError(at + ": '" + b + "' lacks the continuing_subword_prefix '" + prefix_ + "'");
      const std::int32_t merged = vocab_id(a + b.substr(prefix_.size()), at + " (merged)");
      merges_.insert(left, right, {static_cast<std::int32_t>(k), merged});
    }
  }

  void parse_wordpiece(const jf::Json& j, const std::string& where) {
    kind_ = Kind::wordpiece;
    read_vocab_object(jf::required(j, "vocab", where), where + ".vocab");
    prefix_ = jf::string(j, "continuing_subword_prefix", "##", where);
    unk_ = vocab_id(jf::string(j, "unk_token", "[UNK]", where), where + ".unk_token");
    max_chars_ = static_cast<std::size_t>(
        jf::integer(jf::member(j, "max_input_chars_per_word") ? j["max_input_chars_per_word"] : jf::Json(100),
                    where + ".max_input_chars_per_word", 0, std::int64_t{1} << 31));
    for (std::size_t id = 0; id < tokens_.size(); ++id) longest_ = std::max(longest_, tokens_[id].size());
  }

  void parse_wordlevel(const jf::Json& j, const std::string& where) {
    kind_ = Kind::wordlevel;
    read_vocab_object(jf::required(j, "vocab", where), where + ".vocab");
    unk_ = optional_unk(j, where);
  }

  void parse_unigram(const jf::Json& j, const std::string& where) {
    kind_ = Kind::unigram;
    const jf::Json& v = jf::required(j, "vocab", where);
    if (!v.is_array()) throw FormatError(where + ".vocab is " + jf::show(v) + ", expected an array of [piece, score]");
    entries_ = v.size();
    tokens_.resize(v.size());
    has_.assign(v.size(), true);
    scores_.resize(v.size());
    min_score_ = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < v.size(); ++i) {
      const jf::Json& e = v[i];
      const std::string at = where + ".vocab[" + std::to_string(i) + "]";
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        throw FormatError(at + " is " + jf::show(e) + ", expected [piece, score]");
      tokens_[i] = e[0].get<std::string>();
      scores_[i] = e[1].get<double>();
      if (!std::isfinite(scores_[i])) throw FormatError(at + " has the score " + jf::show(e[1]) + ", expected a finite number");
      min_score_ = std::min(min_score_, scores_[i]);
      longest_ = std::max(longest_, tokens_[i].size());
    }
    // The library's token → id map keeps the last id of a repeated piece.
    for (std::size_t i = v.size(); i-- > 0;) vocab_.insert(tokens_[i], static_cast<std::int32_t>(i));
    if (const jf::Json* u = jf::member(j, "unk_id"); u && !u->is_null()) {
      if (v.empty()) throw FormatError(where + ".vocab is empty but unk_id is set");
      unk_ = static_cast<std::int32_t>(jf::integer(*u, where + ".unk_id", 0, static_cast<std::int64_t>(v.size()) - 1));
    }
    byte_fallback_ = jf::boolean(j, "byte_fallback", false, where);
    if (byte_fallback_)
      for (int b = 0; b < 256; ++b) byte_token_[static_cast<std::size_t>(b)] = vocab_.find(byte_name(b));
  }

  static std::string byte_name(int b) {
    static const char* hex = "0123456789ABCDEF";
    return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
  }

  // ---- BPE --------------------------------------------------------------------------------

  struct BpeScratch {
    PairMergeScratch merge;
    std::vector<std::uint32_t> length;  // bytes each initial symbol counts for
    std::string lookup;
  };
  static BpeScratch& bpe_scratch() {
    thread_local BpeScratch s;
    return s;
  }

  template <class Emit>
  void bpe(std::string_view piece, Emit& emit) const {
    if (ignore_merges_)
      if (const std::int32_t whole = vocab_.find(piece); whole >= 0) return emit(ModelToken{whole, 0, static_cast<std::uint32_t>(piece.size())});
    // Offsets are the library's: each symbol counts for a length (its character's bytes, 1
    // per fallback byte, the characters an unknown token fused) and tokens follow each other.
    BpeScratch& s = bpe_scratch();
    s.merge.id.clear();
    s.length.clear();
    std::int32_t unk = -1;
    std::uint32_t unk_length = 0;
    auto add = [&](std::int32_t id, std::uint32_t length) {
      s.merge.id.push_back(id);
      s.length.push_back(length);
    };
    for (std::size_t i = 0; i < piece.size();) {
      const auto length = static_cast<std::size_t>(utf8::decode(piece, i).length);
      const bool first = i == 0, last = i + length == piece.size();
      std::string_view sym = piece.substr(i, length);
      if ((!first && !prefix_.empty()) || (last && !suffix_.empty())) {
        s.lookup.assign(first ? std::string_view() : std::string_view(prefix_));
        s.lookup.append(sym);
        if (last) s.lookup.append(suffix_);
        sym = s.lookup;
      }
      const std::int32_t id = vocab_.find(sym);
      if (id >= 0) {
        if (unk >= 0) add(unk, unk_length), unk = -1;
        add(id, static_cast<std::uint32_t>(length));
      } else {
        bool fell_back = byte_fallback_;
        for (std::size_t k = 0; fell_back && k < sym.size(); ++k) fell_back = byte_token_[static_cast<unsigned char>(sym[k])] >= 0;
        if (fell_back) {
          // One token per byte of the (prefixed) symbol; a pending unknown token stays
          // pending, as in the library.
          for (std::size_t k = 0; k < sym.size(); ++k) add(byte_token_[static_cast<unsigned char>(sym[k])], 1);
        } else if (unk_ >= 0) {  // without an unk_token the character is dropped
          if (unk >= 0 && fuse_unk_) {
            unk_length += static_cast<std::uint32_t>(length);
          } else {
            if (unk >= 0) add(unk, unk_length);
            unk = unk_, unk_length = static_cast<std::uint32_t>(length);
          }
        }
      }
      i += length;
    }
    if (unk >= 0) add(unk, unk_length);
    const auto n = static_cast<std::int32_t>(s.merge.id.size());
    if (n == 0) return;
    s.merge.next.resize(static_cast<std::size_t>(n));
    s.merge.prev.resize(static_cast<std::size_t>(n));
    for (std::int32_t k = 0; k < n; ++k) {
      s.merge.next[static_cast<std::size_t>(k)] = k + 1 < n ? k + 1 : -1;
      s.merge.prev[static_cast<std::size_t>(k)] = k - 1;
    }
    if (n > 1) merge_pairs(merges_, n, s.merge);
    std::uint32_t at = 0;
    for (std::int32_t k = 0; k >= 0;) {
      const std::int32_t next = s.merge.next[static_cast<std::size_t>(k)];
      std::uint32_t length = 0;
      for (std::int32_t q = k; q != (next < 0 ? n : next); ++q) length += s.length[static_cast<std::size_t>(q)];
      emit(ModelToken{s.merge.id[static_cast<std::size_t>(k)], at, at + length});
      at += length;
      k = next;
    }
  }

  // ---- WordPiece -------------------------------------------------------------------------

  template <class Emit>
  void wordpiece(std::string_view piece, Emit& emit) const {
    thread_local std::vector<std::uint32_t> starts;  // byte of each character, then the end
    thread_local std::vector<ModelToken> found;
    thread_local std::string lookup;
    starts.clear();
    for (std::size_t i = 0; i < piece.size(); i += static_cast<std::size_t>(utf8::decode(piece, i).length))
      starts.push_back(static_cast<std::uint32_t>(i));
    const std::size_t chars = starts.size();
    starts.push_back(static_cast<std::uint32_t>(piece.size()));
    const ModelToken whole_unk{unk_, 0, static_cast<std::uint32_t>(piece.size())};
    if (chars > max_chars_) return emit(whole_unk);
    found.clear();
    for (std::size_t start = 0; start < chars;) {
      std::size_t end = chars;
      std::int32_t id = -1;
      for (; start < end; --end) {
        const std::string_view sub = piece.substr(starts[start], starts[end] - starts[start]);
        if (sub.size() + (start > 0 ? prefix_.size() : 0) > longest_) continue;  // longer than any token
        if (start > 0) {
          lookup.assign(prefix_);
          lookup.append(sub);
          id = vocab_.find(lookup);
        } else {
          id = vocab_.find(sub);
        }
        if (id >= 0) break;
      }
      if (id < 0) return emit(whole_unk);
      found.push_back({id, starts[start], starts[end]});
      start = end;
    }
    for (const ModelToken& t : found) emit(t);
  }

  // ---- Unigram ---------------------------------------------------------------------------

  template <class Emit>
  void unigram(std::string_view s, Emit& emit) const {
    struct Node {
      double score = 0;
      std::int32_t starts_at = -1;
      std::int32_t id = -1;
    };
    thread_local std::vector<Node> best;
    thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> pieces;  // backwards: begin, end
    best.assign(s.size() + 1, Node{});
    const double unk_score = min_score_ - 10.0;
    for (std::size_t at = 0; at < s.size();) {
      const double here = best[at].score;
      const auto mblen = static_cast<std::size_t>(utf8::decode(s, at).length);
      bool single = false;
      for (std::size_t end = at + mblen; end <= s.size() && end - at <= longest_;) {
        const std::int32_t id = vocab_.find(s.substr(at, end - at));
        if (id >= 0) {
          Node& t = best[end];
          const double candidate = scores_[static_cast<std::size_t>(id)] + here;
          if (t.starts_at < 0 || candidate > t.score) t = {candidate, static_cast<std::int32_t>(at), id};
          if (end - at == mblen) single = true;
        }
        if (end == s.size()) break;
        end += static_cast<std::size_t>(utf8::decode(s, end).length);
      }
      if (!single) {
        if (unk_ < 0) throw RangeError("HfTokenizer: the Unigram model has no unk_id for an unknown character in '" + std::string(s) + "'");
        Node& t = best[at + mblen];
        const double candidate = unk_score + here;
        if (t.starts_at < 0 || candidate > t.score) t = {candidate, static_cast<std::int32_t>(at), unk_};
      }
      at += mblen;
    }
    // Back from the end; runs of unknown pieces are fused into one.
    pieces.clear();
    std::size_t unk_end = 0;
    bool in_unk = false;
    for (std::size_t end = s.size(); end > 0;) {
      const Node& n = best[end];
      const auto start = static_cast<std::size_t>(n.starts_at);
      if (n.id == unk_) {
        if (!in_unk) unk_end = end, in_unk = true;
      } else {
        if (in_unk) pieces.push_back({static_cast<std::uint32_t>(end), static_cast<std::uint32_t>(unk_end)}), in_unk = false;
        pieces.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end)});
      }
      end = start;
    }
    if (in_unk) pieces.push_back({0, static_cast<std::uint32_t>(unk_end)});
    for (std::size_t k = pieces.size(); k-- > 0;) {
      const auto [b, e] = pieces[k];
      const std::string_view piece = s.substr(b, e - b);
      const std::int32_t id = vocab_.find(piece);
      if (id >= 0) {
        emit(ModelToken{id, b, e});
        continue;
      }
      bool fell_back = byte_fallback_;
      for (std::size_t i = 0; fell_back && i < piece.size(); ++i) fell_back = byte_token_[static_cast<unsigned char>(piece[i])] >= 0;
      if (fell_back) {
        for (std::size_t i = 0; i < piece.size(); ++i) emit(ModelToken{byte_token_[static_cast<unsigned char>(piece[i])], b, e});
        continue;
      }
      emit(ModelToken{unk_, b, e});
    }
  }

  Kind kind_ = Kind::bpe;
  StringIdMap vocab_;
  std::vector<std::string> tokens_;  // id → token
  std::vector<bool> has_;
  std::size_t entries_ = 0, longest_ = 0, max_chars_ = 100;
  std::int32_t unk_ = -1;
  std::string prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::array<std::int32_t, 256> byte_token_{};
  PairMap merges_;
  std::vector<double> scores_;
  double min_score_ = 0;
};

}  // namespace mmm::detail::hf
