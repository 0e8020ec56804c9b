// Times the peer workloads (export_workloads.py's manifest) in ONNX Runtime through
// onnxruntime-node and prints Google Benchmark JSON, so the figures merge with mmm's own.
//
//   node --expose-gc bench.mjs --manifest build-peers/models/manifest.json [--out ort.json]
//        [--threads 1,2] [--filter REGEX] [--repetitions 5] [--min-time 0.2] [--warmup 0.2]
//
// Each case runs in a session with intraOpNumThreads = 1 and 2 (interOp 1, sequential
// execution, all graph optimizations). The output is checked once against torch's, then
// warm-up runs, then `repetitions` timed runs of `iterations` calls each; gc() runs before
// each repetition, outside the timed region. Outputs are preallocated and bound, so a call
// allocates no output tensor. Reported: mean, median, stddev and cv over the repetitions
// (name suffix _mean, _median, ...; run_name without it), as --benchmark_report_aggregates_only
// would print them. Each time includes the binding's per-call cost (an async run on a worker
// thread); the call_overhead case measures that cost alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const options = {
    manifest: null, out: null, threads: [1, 2], filter: '', repetitions: 5, minTime: 0.2,
    warmup: 0.2, tolerance: 1e-4, all: false,
  };
  for (let i = 0; i < argv.length; ++i) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--manifest': options.manifest = value(); break;
      case '--out': options.out = value(); break;
      case '--threads': options.threads = value().split(',').map(Number); break;
      case '--filter': options.filter = value(); break;
      case '--repetitions': options.repetitions = Number(value()); break;
      case '--min-time': options.minTime = Number(value()); break;
      case '--warmup': options.warmup = Number(value()); break;
      case '--tolerance': options.tolerance = Number(value()); break;
      case '--all-repetitions': options.all = true; break;
      default: throw new Error(`bench.mjs: unknown argument '${argv[i]}'`);
    }
  }
  if (!options.manifest) throw new Error('bench.mjs: --manifest PATH is required');
  const bad = options.threads.some((t) => !Number.isInteger(t) || t < 1)
    || !(options.repetitions >= 1) || !(options.minTime > 0) || !(options.warmup >= 0);
  if (bad) throw new Error('bench.mjs: --threads, --repetitions, --min-time, --warmup must be positive');
  return options;
}

const TYPED = {
  float32: [Float32Array, 'float32'],
  int64: [BigInt64Array, 'int64'],
};

function typedOf(entry) {
  const kind = TYPED[entry.dtype];
  if (!kind) throw new Error(`${entry.name}: dtype ${entry.dtype} is not supported here`);
  return kind;
}

function readTensor(dir, entry) {
  const [Typed, type] = typedOf(entry);
  const bytes = fs.readFileSync(path.join(dir, entry.file));
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== count * Typed.BYTES_PER_ELEMENT) {
    throw new Error(`${entry.file}: ${bytes.byteLength} bytes, expected ${count} ${entry.dtype}`);
  }
  // Copy into a fresh, aligned buffer: a Buffer may be a slice of a shared pool.
  const data = new Typed(count);
  new Uint8Array(data.buffer).set(bytes);
  return new ort.Tensor(type, data, entry.shape);
}

function emptyTensor(entry) {
  const [Typed, type] = typedOf(entry);
  return new ort.Tensor(type, new Typed(entry.shape.reduce((a, b) => a * b, 1)), entry.shape);
}

// Largest difference relative to the largest reference magnitude: the summation order of a
// K-long dot product differs between engines, so elementwise relative error is meaningless
// for outputs near zero.
function maxRelativeError(actual, expected) {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; ++i) {
    worst = Math.max(worst, Math.abs(Number(actual[i]) - Number(expected[i])));
    scale = Math.max(scale, Math.abs(Number(expected[i])));
  }
  return worst / Math.max(scale, Number.MIN_VALUE);
}

const nowSeconds = () => Number(process.hrtime.bigint()) * 1e-9;
const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1e-6;
};

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

function aggregates(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1
    ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  const stddev = Math.sqrt(variance);
  return { mean, median: median(values), stddev, cv: mean > 0 ? stddev / mean : 0 };
}

async function timeCase(caseEntry, dir, threads, options) {
  const session = await ort.InferenceSession.create(path.join(dir, caseEntry.onnx), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  try {
    const feeds = {};
    for (const entry of caseEntry.inputs) feeds[entry.name] = readTensor(dir, entry);
    const fetches = {};
    for (const entry of caseEntry.outputs) fetches[entry.name] = emptyTensor(entry);

    let maxError = 0;
    const results = await session.run(feeds, fetches);
    for (const entry of caseEntry.outputs) {
      const expected = readTensor(dir, entry).data;
      maxError = Math.max(maxError, maxRelativeError(results[entry.name].data, expected));
    }
    if (!(maxError <= options.tolerance)) {
      throw new Error(`${caseEntry.name}: ONNX Runtime's output differs from torch's `
        + `(max relative error ${maxError.toExponential(2)} > ${options.tolerance})`);
    }

    let runs = 0;
    const warmStart = nowSeconds();
    while (runs < 3 || nowSeconds() - warmStart < options.warmup) {
      await session.run(feeds, fetches);
      ++runs;
    }
    const perCall = (nowSeconds() - warmStart) / runs;
    const iterations = Math.max(1, Math.ceil(options.minTime / perCall));

    const real = [];
    const cpu = [];
    for (let r = 0; r < options.repetitions; ++r) {
      globalThis.gc();
      const cpu0 = cpuSeconds();
      const t0 = nowSeconds();
      for (let i = 0; i < iterations; ++i) await session.run(feeds, fetches);
      const t1 = nowSeconds();
      cpu.push((cpuSeconds() - cpu0) / iterations);
      real.push((t1 - t0) / iterations);
    }
    return { real, cpu, iterations, maxError };
  } finally {
    await session.release();
  }
}

function context(options) {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    host_name: os.hostname(),
    executable: `node ${process.argv.slice(1).join(' ')}`,
    num_cpus: cpus.length,
    mhz_per_cpu: cpus.length ? cpus[0].speed : 0,
    cpu_scaling_enabled: false,
    load_avg: os.loadavg(),
    library_build_type: 'release',
    peer: 'onnxruntime-node',
    onnxruntime_version: ort.env.versions?.node ?? 'unknown',
    node_version: process.version,
    time_note: 'real_time per call incl. the async binding; cpu_time is process CPU (all threads) per call',
    repetitions: options.repetitions,
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (typeof globalThis.gc !== 'function') {
    throw new Error('bench.mjs: run with node --expose-gc, so gc() can run outside the timed region');
  }
  const manifest = JSON.parse(fs.readFileSync(options.manifest, 'utf8'));
  // Case files live in the manifest's "dir" (the shared export cache), else beside it.
  const dir = manifest.dir ?? path.dirname(path.resolve(options.manifest));
  const pattern = new RegExp(options.filter);
  const benchmarks = [];
  let family = 0;
  for (const caseEntry of manifest.cases) {
    if (!caseEntry.peers.includes('ort')) continue;
    let instance = 0;
    for (const threads of options.threads) {
      const runName = `ort/${caseEntry.name}/threads:${threads}`;
      if (!pattern.test(runName)) continue;
      const { real, cpu, iterations, maxError } = await timeCase(caseEntry, dir, threads, options);
      const base = {
        family_index: family, per_family_instance_index: instance++, run_name: runName,
        repetitions: options.repetitions, threads: 1, time_unit: 'us',
      };
      const counters = (seconds) => {
        const extra = { max_rel_err: maxError, intra_op_threads: threads };
        if (caseEntry.flops) extra.FLOPS = caseEntry.flops / seconds;
        return extra;
      };
      if (options.all) {
        real.forEach((seconds, r) => benchmarks.push({
          name: runName, ...base, run_type: 'iteration', repetition_index: r, iterations,
          real_time: seconds * 1e6, cpu_time: cpu[r] * 1e6, ...counters(seconds),
        }));
      }
      const realStats = aggregates(real);
      const cpuStats = aggregates(cpu);
      for (const which of ['mean', 'median', 'stddev', 'cv']) {
        const isCv = which === 'cv';
        const entry = {
          name: `${runName}_${which}`, ...base, run_type: 'aggregate', aggregate_name: which,
          aggregate_unit: isCv ? 'percentage' : 'time', iterations: options.repetitions,
          real_time: isCv ? realStats.cv : realStats[which] * 1e6,
          cpu_time: isCv ? cpuStats.cv : cpuStats[which] * 1e6,
          time_unit: 'us',
        };
        if (which === 'mean' || which === 'median') Object.assign(entry, counters(realStats[which]));
        benchmarks.push(entry);
      }
      process.stderr.write(`${runName.padEnd(52)} median ${(realStats.median * 1e6).toFixed(1).padStart(10)} us`
        + `  cv ${(realStats.cv * 100).toFixed(1)}%  (${options.repetitions}x${iterations})\n`);
    }
    if (instance) ++family;
  }
  const report = JSON.stringify({ context: context(options), benchmarks }, null, 2);
  if (options.out) fs.writeFileSync(options.out, `${report}\n`);
  else process.stdout.write(`${report}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
