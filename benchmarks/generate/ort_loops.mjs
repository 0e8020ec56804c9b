// The work of bench_generate in ONNX Runtime (onnxruntime-node, CPU EP): greedy and beam-4
// loops in JavaScript over the step models torch_loops.py exports — GPT-2 with past keys and
// values as inputs and the presents as outputs (beams reorder them by copying rows), the LSTM
// decoder with h and c. The greedy and beam tokens are checked against torch's
// (reference.json) before timing.
//
//   /usr/bin/python3 benchmarks/generate/torch_loops.py --export DIR
//   node benchmarks/generate/ort_loops.mjs DIR [--repetitions 5] [--threads 1,2]
//
// Prints <Kind>/ort/<model>/threads:N, the median milliseconds per request and tokens/s.
import path from 'node:path';
import { int64, loopArgs, openSession, ort } from '../peers/onnx/loops.mjs';

const { dir, repetitions, threadCounts, reference } = loopArgs();
const V = reference.vocab, NEW = reference.new_tokens;
const LAYERS = 4, HEADS = 4, HEAD_DIM = 64, LSTM_LAYERS = 2, HIDDEN = 256;

const float32 = (data, dims) => new ort.Tensor('float32', data, dims);

// Each model: start(prompt) → {logits, state}; step(tokens per row, state) → {logits, state};
// reorder(state, sources) → state.
function gpt2(session) {
  const run = async (tokens, rows, start, k, v, past) => {
    const out = await session.run({
      tokens: int64(tokens, [rows, tokens.length / rows]), start: int64([start], []),
      past_k: float32(k, [LAYERS, rows, HEADS, past, HEAD_DIM]), past_v: float32(v, [LAYERS, rows, HEADS, past, HEAD_DIM]),
    });
    return { logits: out.logits.data, state: { k: out.present_k.data, v: out.present_v.data, rows, length: start + tokens.length / rows } };
  };
  return {
    start: (prompt) => run(prompt, 1, 0, new Float32Array(0), new Float32Array(0), 0),
    step: (tokens, s) => run(tokens, s.rows, s.length, s.k, s.v, s.length),
    reorder(s, sources) {
      const block = HEADS * s.length * HEAD_DIM, rows = sources.length;
      const move = (x) => {
        const y = new Float32Array(LAYERS * rows * block);
        for (let l = 0; l < LAYERS; ++l)
          for (let r = 0; r < rows; ++r)
            y.set(x.subarray((l * s.rows + sources[r]) * block, (l * s.rows + sources[r] + 1) * block), (l * rows + r) * block);
        return y;
      };
      return { k: move(s.k), v: move(s.v), rows, length: s.length };
    },
  };
}

function lstm(session) {
  const run = async (tokens, rows, h, c) => {
    const out = await session.run({
      tokens: int64(tokens, [rows, tokens.length / rows]),
      h: float32(h, [LSTM_LAYERS, rows, HIDDEN]), c: float32(c, [LSTM_LAYERS, rows, HIDDEN]),
    });
    return { logits: out.logits.data, state: { h: out.h_out.data, c: out.c_out.data, rows } };
  };
  const zeros = () => new Float32Array(LSTM_LAYERS * HIDDEN);
  return {
    start: (prompt) => run(prompt, 1, zeros(), zeros()),
    step: (tokens, s) => run(tokens, s.rows, s.h, s.c),
    reorder(s, sources) {
      const rows = sources.length;
      const move = (x) => {
        const y = new Float32Array(LSTM_LAYERS * rows * HIDDEN);
        for (let l = 0; l < LSTM_LAYERS; ++l)
          for (let r = 0; r < rows; ++r)
            y.set(x.subarray((l * s.rows + sources[r]) * HIDDEN, (l * s.rows + sources[r] + 1) * HIDDEN), (l * rows + r) * HIDDEN);
        return y;
      };
      return { h: move(s.h), c: move(s.c), rows };
    },
  };
}

function argmax(x, offset) {
  let best = offset;
  for (let i = offset + 1; i < offset + V; ++i) if (x[i] > x[best]) best = i;
  return best - offset;
}

function logSoftmaxInto(x, offset, add, out) {
  let m = -Infinity;
  for (let i = 0; i < V; ++i) m = Math.max(m, x[offset + i]);
  let sum = 0;
  for (let i = 0; i < V; ++i) sum += Math.exp(x[offset + i] - m);
  const shift = add - m - Math.log(sum);
  for (let i = 0; i < V; ++i) out[i] = x[offset + i] + shift;
}

async function greedy(model, prompt) {
  let { logits, state } = await model.start(prompt);
  const out = [];
  for (let i = 0; i < NEW; ++i) {
    const token = argmax(logits, 0);
    out.push(token);
    if (i + 1 < NEW) ({ logits, state } = await model.step([token], state));
  }
  return out;
}

// The `width` best of rows × V totals, best first (ties: the lower flat index).
function topK(totals, width) {
  const best = [];
  for (let i = 0; i < totals.length; ++i) {
    if (best.length === width && totals[i] <= totals[best[width - 1]]) continue;
    let j = best.length < width ? best.length : width - 1;
    best[j] = i;
    while (j > 0 && totals[best[j]] > totals[best[j - 1]]) { [best[j], best[j - 1]] = [best[j - 1], best[j]]; --j; }
  }
  return best;
}

async function beam4(model, prompt, width = 4) {
  let { logits, state } = await model.start(prompt);
  let totals = new Float32Array(V);
  logSoftmaxInto(logits, 0, 0, totals);
  let flat = topK(totals, width);
  let scores = flat.map((f) => totals[f]);
  let beams = flat.map((f) => [f]);
  state = model.reorder(state, new Array(width).fill(0));
  totals = new Float32Array(width * V);
  for (let i = 1; i < NEW; ++i) {
    ({ logits, state } = await model.step(beams.map((b) => b[b.length - 1]), state));
    for (let r = 0; r < width; ++r) logSoftmaxInto(logits, r * V, scores[r], totals.subarray(r * V, (r + 1) * V));
    flat = topK(totals, width);
    const sources = flat.map((f) => Math.floor(f / V));
    scores = flat.map((f) => totals[f]);
    beams = flat.map((f, r) => [...beams[sources[r]], f % V]);
    state = model.reorder(state, sources);
  }
  return beams[0];
}

const runs = { Greedy: greedy, Beam4: beam4 };
const makers = { gpt2_256x4_v8000: gpt2, lstm_256x2_v8000: lstm };
for (const threads of threadCounts) {
  const sessions = {};
  for (const name of Object.keys(makers))
    sessions[name] = makers[name](await openSession(path.join(dir, `${name}.onnx`), threads));
  for (const [kind, run] of Object.entries(runs)) {
    for (const [name, model] of Object.entries(sessions)) {
      const tokens = await run(model, reference.prompt);
      const expected = reference[name][kind];
      const agree = tokens.filter((t, i) => t === expected[i]).length;
      if (agree !== NEW) console.error(`${kind}/ort/${name}: ${agree} of ${NEW} tokens as torch's`);
      const times = [];
      for (let i = 0; i < repetitions; ++i) {
        const t0 = process.hrtime.bigint();
        await run(model, reference.prompt);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      const ms = times[Math.floor(times.length / 2)];
      console.log(`${kind}/ort/${name}/threads:${threads}  ${ms.toFixed(2).padStart(9)} ms  ${(NEW / ms * 1e3).toFixed(1).padStart(9)} tokens/s`);
    }
  }
}
