// The reference for mmm's HfTokenizer: Hugging Face's `tokenizers` (the Rust library, npm
// `tokenizers`), run by tokenizer_json_oracle.py as
//   node tokenizer_json_reference.cjs NPM_PREFIX texts.json out_dir name...
// For each out_dir/name.json it encodes every text (special tokens added) and writes
// out_dir/name.bin: int32 little-endian, the number of texts, then per text the count n,
// n ids and n [begin, end) offsets in characters; and out_dir/name.decoded.json, the
// decoding of each text's ids.
"use strict";
const fs = require("fs");
const path = require("path");

const [prefix, textsPath, outDir, ...names] = process.argv.slice(2);
const { Tokenizer } = require(path.join(prefix, "node_modules", "tokenizers"));
const texts = JSON.parse(fs.readFileSync(textsPath, "utf8"));

(async () => {
  const summary = {};
  for (const name of names) {
    const tok = Tokenizer.fromFile(path.join(outDir, `${name}.json`));
    const encodings = await tok.encodeBatch(texts, { addSpecialTokens: true });
    const words = [texts.length];
    const all = [];
    let tokens = 0;
    for (const e of encodings) {
      const ids = e.getIds(), offsets = e.getOffsets();
      words.push(ids.length, ...ids);
      for (const [b, en] of offsets) words.push(b, en);
      all.push(ids);
      tokens += ids.length;
    }
    fs.writeFileSync(path.join(outDir, `${name}.bin`), Buffer.from(Int32Array.from(words).buffer));
    const decoded = await tok.decodeBatch(all, false);
    fs.writeFileSync(path.join(outDir, `${name}.decoded.json`), JSON.stringify(decoded));
    summary[name] = tokens;
  }
  console.log(JSON.stringify(summary));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
