// The peer for bench_text's tiktoken rows: npm js-tiktoken (the JavaScript port of tiktoken,
// as users run it: its own ranks, patterns and encoder) over the same lines, one thread.
// Prints Google-Benchmark-shaped JSON on stdout.
//
//   node benchmarks/text/tiktoken_peer.cjs NPM_PREFIX DATA_DIR [--min-time 0.5] [--write-ranks]
//
// --write-ranks writes cl100k_base.tiktoken and o200k_base.tiktoken (OpenAI's format) from
// the ranks js-tiktoken ships into DATA_DIR, for bench_text, and exits.
"use strict";
const fs = require("fs");
const path = require("path");

const args = process.argv.slice(2);
const [prefix, data] = args;
const minTime = args.includes("--min-time") ? Number(args[args.indexOf("--min-time") + 1]) : 0.5;
const lib = (p) => require(path.join(prefix, "node_modules", "js-tiktoken", "dist", p));
const { Tiktoken } = lib("lite.cjs");
const ENCODINGS = [["TiktokenCl100k", "cl100k_base"], ["TiktokenO200k", "o200k_base"]];

if (args.includes("--write-ranks")) {
  for (const [, name] of ENCODINGS) {
    const ranks = lib(path.join("ranks", `${name}.cjs`));
    const lines = [];
    for (const line of ranks.bpe_ranks.split("\n").filter(Boolean)) {
      const [, offset, ...tokens] = line.split(" ");
      tokens.forEach((t, i) => lines.push(`${t} ${Number.parseInt(offset, 10) + i}`));
    }
    fs.writeFileSync(path.join(data, `${name}.tiktoken`), lines.join("\n") + "\n");
  }
  process.exit(0);
}

const lines = fs.readFileSync(path.join(data, "text.txt"), "utf8").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const results = [];
for (const [work, name] of ENCODINGS) {
  const enc = new Tiktoken(lib(path.join("ranks", `${name}.cjs`)));
  let tokens = 0;
  for (const l of lines) tokens += enc.encode(l, [], []).length;  // warm-up
  let n = 0, real = 0, cpu = 0;
  while (real < minTime * 1e3 || n < 3) {
    const r0 = performance.now(), c0 = process.cpuUsage();
    for (const l of lines) enc.encode(l, [], []);
    real += performance.now() - r0;
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1e3;
    ++n;
  }
  results.push({ name: `${work}/js-tiktoken`, run_type: "iteration", iterations: n, real_time: real / n,
                 cpu_time: cpu / n, time_unit: "ms", tokens });
}
console.log(JSON.stringify({ benchmarks: results }));
