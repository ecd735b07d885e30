// W1 to W4 of WORKLOADS.md with GraphQL's DataLoader (the npm package `dataloader`), the peer
// users know, for bench/report to show beside the library. Each run makes new loaders (with
// DataLoader's cache off, so that, like the library's operations, every load reaches a batch
// function; the keys of W1, W3 and W4 are distinct anyway) and checks its result.
//
// Usage: node workloads.js [--min-time SECONDS] [--filter REGEX]
// Prints {"benchmarks": [...]} in the shape of Google Benchmark's JSON: `ns_per_op` in seconds
// per operation (as the C++ benchmark's rate counter), `calls`, `rounds`, `ops`.
'use strict';

const DataLoader = require('dataloader');

// The workloads' batch function: key * 2 for each key.
function makeGet(counts) {
  return new DataLoader(async (keys) => {
    counts.calls += 1;
    return keys.map((k) => k * 2);
  }, { cache: false });
}

function makeIdentity(counts) {
  return new DataLoader(async (values) => {
    counts.calls += 1;
    return values;
  }, { cache: false });
}

// W1: the root loads N children at once; each loads get(i) and returns its result + 1.
async function w1(n, counts) {
  const get = makeGet(counts);
  const child = async (i) => (await get.load(i)) + 1;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => child(i)));
  let sum = 0;
  for (const r of results) sum += r;
  return sum;
}

// W2: the original README at scale.
async function w2(n, counts) {
  const get = makeGet(counts);
  const user = async (i) => get.load(i);
  const spouse = async (i) => {
    const r = await get.load(1000000 + i);
    return user((r / 2 - 1000000 + 1) % n);
  };
  const spouses = async (i) => {
    const [u, s] = await Promise.all([user(i), spouse(i)]);
    return u + s;
  };
  const results = await Promise.all(Array.from({ length: n }, (_, i) => spouses(i)));
  let sum = 0;
  for (const r of results) sum += r;
  return sum;
}

// W3: N sequential loads.
async function w3(n, counts) {
  const get = makeGet(counts);
  let sum = 0;
  for (let i = 0; i < n; ++i) sum += await get.load(i);
  return sum;
}

// W4: Fibonacci with operations at every node.
async function w4(n, counts) {
  const identity = makeIdentity(counts);
  const fib = async (i) => {
    if (i <= 1) return identity.load(1);
    const [a, b] = await Promise.all([identity.load(i - 1), identity.load(i - 2)]);
    const [x, y] = await Promise.all([fib(a), fib(b)]);
    return x + y;
  };
  return fib(n);
}

const workloads = [
  ...[1000, 10000, 100000, 1000000].map((n) => ({ name: `W1_fanout/dataloader/${n}`, run: w1, n, ops: n, expected: n * n })),
  { name: 'W2_spouses/dataloader/20000', run: w2, n: 20000, ops: 3 * 20000, expected: 2 * 20000 * (20000 - 1) },
  { name: 'W3_chain/dataloader/20000', run: w3, n: 20000, ops: 20000, expected: 20000 * (20000 - 1) },
  { name: 'W4_fib/dataloader/18', run: w4, n: 18, ops: 12541, expected: 4181 },
];

async function measure(w, minTime) {
  // A warm-up run, checked, and more until minTime has passed (the JIT compiles the hot code);
  // then whole runs until minTime has passed again.
  const counts = { calls: 0 };
  const got = await w.run(w.n, counts);
  if (got !== w.expected) throw new Error(`${w.name}: wrong result ${got}, expected ${w.expected}`);
  const warm = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - warm) / 1e9 < minTime) await w.run(w.n, { calls: 0 });
  let runs = 0;
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    const c = { calls: 0 };
    await w.run(w.n, c);
    calls = c.calls;
    runs += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < minTime);
  return {
    name: w.name,
    run_name: w.name,
    run_type: 'iteration',
    iterations: runs,
    ns_per_op: elapsed / (runs * w.ops),
    ops: w.ops,
    calls,
    rounds: calls, // one loader per workload: each batch call is a round of its own
  };
}

async function main() {
  const args = process.argv.slice(2);
  let minTime = 0.2;
  let filter = /.*/;
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--min-time') minTime = Number(args[++i]);
    else if (args[i] === '--filter') filter = new RegExp(args[++i]);
    else throw new Error(`unknown argument ${args[i]}`);
  }
  const benchmarks = [];
  for (const w of workloads) {
    if (filter.test(w.name)) benchmarks.push(await measure(w, minTime));
  }
  process.stdout.write(JSON.stringify({ context: { implementation: 'dataloader' }, benchmarks }, null, 1) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
