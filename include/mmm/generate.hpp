#pragma once
// Text from models, one token at a time: every decoding algorithm, on the one decoder-step
// interface of generate/decoder.hpp (an LSTM state or KV caches behind it).
//   generate/greedy.hpp        greedy decoding
//   generate/sampling.hpp      temperature, top-k, top-p, repetition penalty; seeded (Pcg32)
//   generate/beam_search.hpp   beam search: width, length penalty, EOS, n-best with scores
//   generate/ctc.hpp           CTC greedy and prefix beam search (speech)
//   streaming (a callback per token) and stop strings: StreamOptions in generate/token_loop.hpp
//   generate/recurrent_decoder.hpp   an Embedding → LSTM/GRU/RNN → Linear decoder (captioners)
//   generate/transformer_decoder.hpp decoder-only LMs (GPT2, Llama) and a cross-attention
//                                    (captioner) decoder, over a KVCache
//   generate/kv_cache.hpp            transformer decoders' keys and values (paged, copy-on-write)
// (Only includes.)

#include "mmm/generate/beam_search.hpp"
#include "mmm/generate/ctc.hpp"
#include "mmm/generate/decoder.hpp"
#include "mmm/generate/greedy.hpp"
#include "mmm/generate/hypotheses.hpp"
#include "mmm/generate/kv_cache.hpp"
#include "mmm/generate/random.hpp"
#include "mmm/generate/recurrent_decoder.hpp"
#include "mmm/generate/sampling.hpp"
#include "mmm/generate/stop_strings.hpp"
#include "mmm/generate/token_loop.hpp"
#include "mmm/generate/transformer_decoder.hpp"
