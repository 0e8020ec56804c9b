// The work of bench_apps in ONNX Runtime (onnxruntime-node, CPU EP): the four applications
// on their first shipped inputs, batch 1, on the ONNX pieces apps_torch.py --export writes,
// with the decoding loops in JavaScript — tools/mmm_generate.py's procedures (beam search
// with <eos> and length normalization, greedy, CTC prefix beam search), as torch runs them.
// The decoder steps take the whole prefix each time (their torch modules have no KV cache:
// nn.TransformerDecoder, the assistant's GPT2Blocks over the joined sequence), as in torch.
// Every answer (the drawing's pixels too) is checked against torch's before timing.
//
//   /usr/bin/python3 benchmarks/apps/apps_torch.py --export DIR
//   node benchmarks/apps/apps_ort.mjs DIR [--repetitions 5] [--threads 1,2]
//
// Prints <App>/ort/threads:N and the median milliseconds.
import path from 'node:path';
import { int64, loopArgs, openSession, ort } from '../peers/onnx/loops.mjs';

const { dir, repetitions, threadCounts, reference } = loopArgs();

const float32 = (data, dims) => new ort.Tensor('float32', Float32Array.from(data), dims);
const words = (vocab, tokens, eos) => tokens.filter((t) => t !== eos).map((t) => vocab[t]).join(' ');

function logSumExp(x, offset, n) {
  let m = -Infinity;
  for (let i = 0; i < n; ++i) m = Math.max(m, x[offset + i]);
  let sum = 0;
  for (let i = 0; i < n; ++i) sum += Math.exp(x[offset + i] - m);
  return m + Math.log(sum);
}

// Indices of x[offset .. offset + n) by descending value, ties the lower index first.
function descending(x, offset, n) {
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => x[offset + b] - x[offset + a] || a - b);
}

// mmm_generate.beam_search for one item with a one-token prompt: step(rows of token lists)
// gives [rows, V] logits of each row's last position.
async function beamSearch(step, V, bos, eos, maxLength, width) {
  let beams = [{ score: 0, seq: [] }, ...Array.from({ length: width - 1 }, () => ({ score: -Infinity, seq: [] }))];
  const hyps = [];
  let serial = 0;
  const addHypothesis = (score, tokens) => {
    if (hyps.length < width) { hyps.push({ score, serial: serial++, tokens }); return; }
    let worst = 0;
    for (let i = 1; i < width; ++i)
      if (hyps[i].score < hyps[worst].score || (hyps[i].score === hyps[worst].score && hyps[i].serial < hyps[worst].serial)) worst = i;
    if (score > hyps[worst].score) hyps[worst] = { score, serial, tokens };
    ++serial;
  };
  let rows = Array.from({ length: width }, () => [bos]);
  let logits = await step(rows);
  for (let generated = 1; ; ++generated) {
    const proposals = [];
    beams.forEach((beam, j) => {
      if (beam.score === -Infinity) return;
      const lse = logSumExp(logits, j * V, V);
      for (const c of descending(logits, j * V, V).slice(0, Math.min(2 * width, V)))
        proposals.push({ score: beam.score + logits[j * V + c] - lse, flat: j * V + c, j, c });
    });
    proposals.sort((a, b) => b.score - a.score || a.flat - b.flat);
    const fresh = [];
    for (const [rank, p] of proposals.slice(0, 2 * width).entries()) {
      if (fresh.length === width) break;
      if (p.c === eos) {
        if (rank < width) addHypothesis(p.score / generated, [...beams[p.j].seq, p.c]);
      } else {
        fresh.push({ score: p.score, seq: [...beams[p.j].seq, p.c], source: p.j });
      }
    }
    let done = false;
    if (generated === maxLength - 1) {
      for (const f of fresh) addHypothesis(f.score / generated, f.seq);
      done = true;
    } else if (fresh.length === 0) {
      done = true;
    } else if (hyps.length === width) {
      done = Math.min(...hyps.map((h) => h.score)) >= Math.max(...fresh.map((f) => f.score)) / generated;
    }
    if (done) break;
    const sources = [...fresh.map((f) => f.source), ...Array(width - fresh.length).fill(0)];
    const tokens = [...fresh.map((f) => f.seq[f.seq.length - 1]), ...Array(width - fresh.length).fill(eos)];
    beams = [...fresh, ...Array.from({ length: width - fresh.length }, () => ({ score: -Infinity, seq: [] }))];
    rows = sources.map((s, r) => [...rows[s], tokens[r]]);
    logits = await step(rows);
  }
  hyps.sort((a, b) => b.score - a.score || a.serial - b.serial);
  return hyps[0].tokens;
}

// mmm_generate.greedy for one row with a one-token prompt.
async function greedy(step, V, bos, eos, maxLength) {
  const row = [bos];
  for (;;) {
    const logits = await step([row]);
    const token = descending(logits, 0, V)[0];
    row.push(token);
    if (token === eos || row.length === maxLength) return row.slice(1);
  }
}

function logAdd(a, b) {
  if (a < b) [a, b] = [b, a];
  return b === -Infinity ? a : a + Math.log1p(Math.exp(b - a));
}

// mmm_generate.ctc_prefix_beam_search over [T, V] log-probabilities (blank 0); prefixes are
// keyed by their labels, each after a ','.
function ctcPrefixBeamSearch(logProbs, T, V, width) {
  let beams = [{ key: '', prefix: [], pb: 0, pnb: -Infinity }];
  for (let t = 0; t < T; ++t) {
    const y = logProbs.subarray(t * V, (t + 1) * V);
    const entries = new Map();
    const entry = (key, prefix, c) => {
      let e = entries.get(key);
      if (!e) {
        e = { key, prefix: c < 0 ? prefix : [...prefix, c], pb: -Infinity, pnb: -Infinity, order: entries.size };
        entries.set(key, e);
      }
      return e;
    };
    for (const { key, prefix, pb, pnb } of beams) {
      const e = entry(key, prefix, -1);
      e.pb = logAdd(e.pb, logAdd(pb, pnb) + y[0]);
      if (prefix.length) e.pnb = logAdd(e.pnb, pnb + y[prefix[prefix.length - 1]]);
    }
    for (const { key, prefix, pb, pnb } of beams) {
      const total = logAdd(pb, pnb);
      for (let c = 1; c < V; ++c) {
        const e = entry(`${key},${c}`, prefix, c);
        e.pnb = logAdd(e.pnb, (prefix.length && c === prefix[prefix.length - 1] ? pb : total) + y[c]);
      }
    }
    beams = [...entries.values()].filter((e) => logAdd(e.pb, e.pnb) !== -Infinity)
      .sort((a, b) => logAdd(b.pb, b.pnb) - logAdd(a.pb, a.pnb) || a.order - b.order).slice(0, width);
  }
  return beams[0].prefix;
}

// Each app: { run() → answer text or pixels, expected, same(a, b), part: [what, run] of it timed alone }.
async function apps(threads) {
  const open = (name) => openSession(path.join(dir, name), threads);
  const [captionMemory, captionStep, speech, draw, askPrefix, askStep] = await Promise.all(
    ['caption_memory', 'caption_step', 'speech', 'draw', 'ask_prefix', 'ask_step'].map((n) => open(`${n}.onnx`)));
  const same = (a, b) => a === b;

  const c = reference.caption, cv = c.vocab.length;
  const captionImage = float32(c.image, [1, 3, 64, 64]);
  const caption = async () => {
    const memory = (await captionMemory.run({ images: captionImage })).memory;
    const size = memory.data.length;
    const rowsOf = new Map();  // the memory repeated for a number of rows
    const step = async (rows) => {
      if (!rowsOf.has(rows.length)) {
        const m = new Float32Array(rows.length * size);
        for (let r = 0; r < rows.length; ++r) m.set(memory.data, r * size);
        rowsOf.set(rows.length, new ort.Tensor('float32', m, [rows.length, ...memory.dims.slice(1)]));
      }
      const out = await captionStep.run({ memory: rowsOf.get(rows.length), tokens: int64(rows.flat(), [rows.length, rows[0].length]) });
      return out.logits.data;
    };
    return words(c.vocab, await beamSearch(step, cv, c.bos, c.eos, c.max_length, c.width), c.eos);
  };

  const s = reference.transcribe, sv = s.labels.length;
  const features = float32(s.features, [1, s.frames, 80]);
  const decode = (lp) => ctcPrefixBeamSearch(lp.data, lp.dims[1], sv, s.width).map((l) => s.labels[l]).join(' ');
  const transcribe = async () => decode((await speech.run({ features })).log_probs);
  const logProbs = (await speech.run({ features })).log_probs;

  const d = reference.draw;
  const ids = new Map(d.vocab.map((w, i) => [w, i]));
  const drawing = async () => {
    const tokens = d.prompt.split(/\s+/).map((w) => ids.get(w));
    const x = (await draw.run({ tokens: int64(tokens, [1, tokens.length]), lengths: int64([tokens.length], [1]) })).image.data;
    const plane = 64 * 64, pixels = new Uint8Array(3 * plane);
    for (let i = 0; i < plane; ++i)
      for (let ch = 0; ch < 3; ++ch) {
        const v = Math.round((x[ch * plane + i] * 0.5 + 0.5) * 255);  // the nearest; a .5 tie is as rare as torch's disagreeing
        pixels[i * 3 + ch] = Math.min(255, Math.max(0, v));
      }
    return pixels;
  };
  // Pixels agree when none is more than one level off (the rounding of a value at a .5 tie
  // after float differences of 1e-6).
  const samePixels = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1);

  const a = reference.ask, av = a.vocab.length;
  const askImage = float32(a.image, [1, 3, 64, 64]);
  const question = int64(a.question, [1, a.question.length]);
  const ask = async () => {
    const { prefix } = await askPrefix.run({ images: askImage, questions: question });
    const step = async (rows) => (await askStep.run({ prefix, answers: int64(rows[0], [1, rows[0].length]) })).logits.data;
    return words(a.vocab, await greedy(step, av, a.bos, a.eos, a.max_length), a.eos);
  };

  return {
    Caption: { run: caption, expected: c.text, same },
    Transcribe: { run: transcribe, expected: s.text, same, part: ['CTC beam search in JavaScript', async () => decode(logProbs)] },
    Draw: { run: drawing, expected: Uint8Array.from(d.pixels), same: samePixels },
    Ask: { run: ask, expected: a.text, same },
  };
}

// The median of `repetitions` timings, each the mean over enough calls to last minimumMs.
async function medianMs(run, minimumMs = 300) {
  let t0 = process.hrtime.bigint();
  await run();
  const once = Math.max(Number(process.hrtime.bigint() - t0) / 1e6, 1e-3);
  const calls = Math.max(1, Math.floor(minimumMs / once));
  const times = [];
  for (let i = 0; i < repetitions; ++i) {
    t0 = process.hrtime.bigint();
    for (let k = 0; k < calls; ++k) await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6 / calls);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

let failed = false;
for (const threads of threadCounts) {
  for (const [name, app] of Object.entries(await apps(threads))) {
    const got = await app.run();
    if (!app.same(got, app.expected)) {
      console.error(`${name}/ort: not torch's answer: ${typeof got === 'string' ? `'${got}' against '${app.expected}'` : 'pixels differ'}`);
      failed = true;
      continue;
    }
    const ms = await medianMs(app.run);
    const note = app.part ? `  (of which ${app.part[0]} ${(await medianMs(app.part[1])).toFixed(2)} ms)` : '';
    console.log(`${name}/ort/threads:${threads}  ${ms.toFixed(3).padStart(9)} ms  ${typeof got === 'string' ? got : ''}${note}`);
  }
}
process.exitCode = failed ? 1 : 0;
