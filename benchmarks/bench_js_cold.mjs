// Cold start of the JavaScript runtime (js/), per phase, in fresh Node processes: import of
// the package's entry point (js/dist/rnnconvert.js; js/index.js in a copy that has no dist/), load(bundle) (read, SHA-256, parse, the op modules), the first predict (B=1,
// T=100) and a second one (warm), each as wall time and as the process's CPU time (user +
// system: V8's background compiler threads included, so CPU may exceed wall). Node's own start
// is not counted, nor the ~4 ms its ESM loader takes to warm up on a first import from `node -e`
// (a program run from a file has it warm already). Prints medians and minima over the runs, and /proc/loadavg before and after.
//
//   node benchmarks/bench_js_cold.mjs WORKDIR [--runs N] [--js-path] [--root DIR ...]
//
// WORKDIR holds m1-float32/ and m2-float32/ (benchmarks/bench_js.py --work WORKDIR makes them).
// --js-path forces the plain-JavaScript kernels (RNNCONVERT_JS_KERNELS=js) instead of WebAssembly.
// --src times js/index.js (the unbundled sources) instead of the package's entry point.
// --root DIR (repeatable) times another copy of the runtime (DIR/dist/rnnconvert.js, or DIR/index.js) too, the runs
// alternated with this one's, e.g. a `git worktree` of an older commit for before/after.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const work = args[0];
if (!work || work.startsWith("--")) {
  console.error("usage: node benchmarks/bench_js_cold.mjs WORKDIR [--runs N] [--js-path] [--root DIR ...]");
  process.exit(2);
}
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const RUNS = Number(opt("--runs", 9));
const roots = [new URL("../js/", import.meta.url).pathname];
args.forEach((a, i) => a === "--root" && roots.push(resolve(args[i + 1])));
const env = { ...process.env };
if (args.includes("--js-path")) env.RNNCONVERT_JS_KERNELS = "js";

const INPUT = {
  m1: "{ data: new Float32Array(100 * 32).map((_, i) => Math.sin(i)), shape: [1, 100, 32] }",
  m2: "{ data: new Int32Array(100).map((_, i) => (i * 37) % 5000), shape: [1, 100] }",
};

/** The module a copy of the runtime is imported from: its package entry, unless --src. */
function entry(root) {
  const dist = join(root, "dist", "rnnconvert.js");
  return !args.includes("--src") && existsSync(dist) ? dist : join(root, "index.js");
}

function script(root, bundle, name) {
  return `
    const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
    await import("data:text/javascript,export default 0"); // Node's ESM loader warms up: Node's start, not ours
    const c0 = cpu(), t0 = performance.now();
    const { load } = await import(${JSON.stringify(pathToFileURL(entry(root)).href)});
    const c1 = cpu(), t1 = performance.now();
    const m = await load(${JSON.stringify(bundle)});
    const c2 = cpu(), t2 = performance.now();
    const x = ${INPUT[name]};
    m.predict(x);
    const c3 = cpu(), t3 = performance.now();
    m.predict(x);
    const c4 = cpu(), t4 = performance.now();
    console.log(JSON.stringify({
      import: [t1 - t0, c1 - c0], load: [t2 - t1, c2 - c1], first_predict: [t3 - t2, c3 - c2],
      total: [t3 - t0, c3 - c0], second_predict: [t4 - t3, c4 - c3] }));`;
}

const loadavg = () => {
  try {
    return readFileSync("/proc/loadavg", "utf8").trim();
  } catch {
    return "n/a";
  }
};

const before = loadavg();
const runs = {}; // `${root} ${model}` -> [result]
for (let r = 0; r < RUNS; r++) {
  for (const name of ["m1", "m2"]) {
    for (const root of roots) {
      const p = spawnSync(process.execPath, ["--input-type=module", "-e", script(root, join(work, `${name}-float32`), name)], { encoding: "utf8", env });
      if (p.status !== 0) {
        console.error(p.stderr);
        process.exit(1);
      }
      (runs[`${root} ${name}`] ||= []).push(JSON.parse(p.stdout.trim().split("\n").pop()));
    }
  }
}
const med = (v) => v.slice().sort((a, b) => a - b)[v.length >> 1];
const min = (v) => Math.min(...v);
const f = (v) => v.toFixed(1).padStart(6);
console.log(`Node ${process.version}; ${RUNS} fresh processes per row, alternated; kernels: ${env.RNNCONVERT_JS_KERNELS || "default"}`);
console.log(`loadavg before: ${before}`);
console.log(`ms: wall median (min) | CPU median (min)`);
for (const [key, rs] of Object.entries(runs)) {
  console.log(`${key} (${relative(process.cwd(), entry(key.slice(0, key.lastIndexOf(" "))))})`);
  for (const phase of ["import", "load", "first_predict", "total", "second_predict"]) {
    const w = rs.map((r) => r[phase][0]);
    const c = rs.map((r) => r[phase][1]);
    console.log(`  ${phase.padEnd(15)} wall ${f(med(w))} (${f(min(w))}) | CPU ${f(med(c))} (${f(min(c))})`);
  }
}
console.log(`loadavg after:  ${loadavg()}`);
