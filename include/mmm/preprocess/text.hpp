#pragma once
// Text preprocessing: vocabularies and tokenizers. Every tokenizer has encode(text) → ids,
// encode_with_offsets(text) → ids + byte spans, decode(ids) → text, and encode_batch()
// turns texts into a padded Tokens batch.

#include "mmm/preprocess/text/bpe.hpp"            // GPT-2 byte-level BPE (vocab.json + merges.txt, tokenizer.json)
#include "mmm/preprocess/text/sentencepiece.hpp"  // SentencePiece .model (unigram, BPE)
#include "mmm/preprocess/text/token_batch.hpp"    // Encoding, TokenBatch, encode_batch, pad_batch
#include "mmm/preprocess/text/unicode.hpp"        // Unicode properties the tokenizers use
#include "mmm/preprocess/text/utf8.hpp"           // UTF-8 decoding with replacement
#include "mmm/preprocess/text/vocabulary.hpp"     // word / character vocabularies with specials
#include "mmm/preprocess/text/wordpiece.hpp"      // BERT WordPiece (vocab.txt)
