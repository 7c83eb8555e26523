// A bundle read from a local directory (Node): its weights file is read straight into the
// model's shared WebAssembly memory and used there (no copies; ops/wasm.js), hashed while it is
// read (bundle.js readLocal); the files it refuses (symbolic link, FIFO, directory, changed
// bytes) are refused with the runtime's own errors, and promptly.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FormatError, SecurityError, load } from "../index.js";
import { vectorInputs } from "../src/verify.js";

const GOLDEN = fileURLToPath(new URL("../../tests/data/golden/", import.meta.url));
const V13 = join(GOLDEN, "1.3.0", "bundle"); // format 1.3: stored arrays at 64-byte offsets
const V11 = join(GOLDEN, "1.1.0", "bundle"); // format 1.1: deflated members, no offsets

function scratchCopy(t, src = V13) {
  const dir = mkdtempSync(join(tmpdir(), "rnnconvert-local-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(src, dir, { recursive: true });
  return dir;
}

const floatWeights = (model) => model.nodes.flatMap((n) => Object.values(n.weights)).filter((w) => w.data instanceof Float32Array);
const outputsOf = (model) => model.predict(vectorInputs(model, model.doc.test_vectors.calls[0])).map((o) => Array.from(o.data));

test("a local bundle's weights are views of the kernels' shared memory, used in place", async () => {
  const model = await load(V13);
  const k = model.kernels;
  assert.ok(k !== null && k.home instanceof SharedArrayBuffer, "the weights file was read into a shared memory");
  const weights = floatWeights(model);
  assert.ok(weights.length > 5);
  for (const w of weights) {
    assert.equal(w.data.buffer, k.home, "every float32 weight is a view of the file as read");
    assert.equal(k.weightAt(w.data), w.data.byteOffset, "and the kernels address it where it lies");
  }
  const report = model.check();
  assert.ok(report.ok, report.lines.join("\n"));
  for (const w of weights) assert.equal(k.at.has(w.data), false, "no copy of a weight was made");
});

test("the weights stay valid when the memory grows, and agree with a bundle given as buffers", async () => {
  const local = await load(V13);
  const given = await load({ "model.json": readFileSync(join(V13, "model.json")), "weights.npz": readFileSync(join(V13, "weights.npz")) });
  assert.equal(given.kernels.home, null, "buffers: the kernels' own memory, holding copies");
  const before = outputsOf(local);
  assert.deepEqual(before, outputsOf(given), "the same numbers either way");
  const k = local.kernels;
  const size = k.memory.buffer.byteLength;
  assert.ok(k.reserve(size + 64 * 2 ** 20), "the memory grows by 64 MiB");
  assert.ok(k.memory.buffer.byteLength > size);
  for (const w of floatWeights(local)) assert.equal(w.data.length > 0 && w.data.buffer, k.home, "a weight is still a live view after the growth");
  assert.deepEqual(outputsOf(local), before);
  assert.ok(local.check().ok);
});

test("kernels 'js' and a format-1.1 bundle (deflated arrays) read a local file into ordinary memory", async () => {
  const js = await load(V13, { kernels: "js" });
  assert.equal(js.kernels, null);
  for (const w of floatWeights(js)) assert.ok(!(w.data.buffer instanceof SharedArrayBuffer));
  assert.ok(js.check().ok);
  const old = await load(V11);
  assert.ok(old.check().ok, "the inflated arrays are copies: the products copy them into the kernels' memory");
});

test("a changed local weights file fails its SHA-256 (the digest computed while reading)", async (t) => {
  const dir = scratchCopy(t);
  const p = join(dir, "weights.npz");
  const w = readFileSync(p);
  for (const at of [0, 2 ** 20 - 1, 2 ** 20, w.length - 1]) {
    if (at >= w.length) continue;
    const changed = Buffer.from(w);
    changed[at] ^= 1;
    writeFileSync(p, changed);
    await assert.rejects(load(dir), (e) => e instanceof FormatError && /SHA-256/.test(e.message), `byte ${at}`);
  }
  writeFileSync(p, w.subarray(0, w.length - 1));
  await assert.rejects(load(dir), (e) => e instanceof FormatError && /SHA-256/.test(e.message), "one byte short");
  writeFileSync(p, Buffer.alloc(0));
  await assert.rejects(load(dir), (e) => e instanceof FormatError && /SHA-256/.test(e.message), "empty");
  writeFileSync(p, w);
  assert.ok((await load(dir)).check().ok, "restored");
});

test("a symbolic link, a FIFO or a directory as the weights file is refused, without waiting", async (t) => {
  const dir = scratchCopy(t);
  const p = join(dir, "weights.npz");
  const real = join(dir, "real.npz");
  cpSync(p, real);
  rmSync(p);
  symlinkSync(real, p);
  await assert.rejects(load(dir), (e) => e instanceof SecurityError && /symbolic link/.test(e.message));
  rmSync(p);
  execFileSync("mkfifo", [p]); // no writer: opening it for reading would block
  await assert.rejects(load(dir), (e) => e instanceof FormatError && /not a regular file/.test(e.message));
  rmSync(p);
  execFileSync("mkdir", [p]);
  await assert.rejects(load(dir), (e) => e instanceof FormatError && /not a regular file/.test(e.message));
  rmSync(p, { recursive: true });
  await assert.rejects(load(dir), (e) => e instanceof FormatError && /missing/.test(e.message));
});

test("readLocal: short reads are completed, a file that shrinks is refused, every read settles before the close", async () => {
  const { readLocal } = await import("../src/bundle.js");
  const { createHash } = await import("node:crypto");
  const fs = await import("node:fs");
  const p = join(V13, "weights.npz");
  const want = readFileSync(p);
  const digest = createHash("sha256").update(want).digest("hex");
  const log = [];
  const fake = (readFn) => ({
    ...fs,
    read: (fd, buf, off, len, pos, cb) => readFn(fd, buf, off, len, pos, (err, n) => (log.push(["read", n]), cb(err, n))),
    close: (fd, cb) => (log.push(["close"]), fs.close(fd, cb)),
  });
  let calls = 0;
  const short = fake((fd, buf, off, len, pos, cb) => fs.read(fd, buf, off, Math.min(len, 1000 + (calls++ % 7)), pos, cb));
  let during = 0;
  const got = await readLocal(short, p, 2 ** 30, null, () => during++);
  assert.equal(got.digest, digest);
  assert.deepEqual(Buffer.from(got.bytes), want);
  assert.equal(during, 1, "whileReading runs once");
  log.length = 0;
  // the first 1,000 bytes, then end of file: as if it were cut while being read
  const shrinking = fake((fd, buf, off, len, pos, cb) => (pos >= 1000 ? setImmediate(() => cb(null, 0)) : fs.read(fd, buf, off, Math.min(len, 1000 - pos), pos, cb)));
  await assert.rejects(readLocal(shrinking, p, 2 ** 30, null, () => {}), (e) => e instanceof FormatError && /shrank/.test(e.message));
  await new Promise((r) => setImmediate(r));
  assert.equal(log.at(-1)[0], "close", "the file is closed after every read in flight has settled");
  assert.ok(log.filter((e) => e[0] === "read").length >= 2);
});

test("readLocal: a file of many chunks comes back whole and in order, into a shared memory too", async (t) => {
  const { readLocal } = await import("../src/bundle.js");
  const { weightsMemory } = await import("../src/ops/wasm.js");
  const { createHash, randomFillSync } = await import("node:crypto");
  const fs = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "rnnconvert-chunks-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = randomFillSync(Buffer.alloc(3.5 * 2 ** 20 + 17));
  const p = join(dir, "w.npz");
  writeFileSync(p, data);
  const digest = createHash("sha256").update(data).digest("hex");
  for (const into of [null, (n) => weightsMemory(n).bytes]) {
    const got = await readLocal(fs, p, 2 ** 30, into, () => {});
    assert.equal(got.digest, digest);
    assert.equal(got.bytes.buffer instanceof SharedArrayBuffer, into !== null);
    assert.ok(Buffer.from(got.bytes.buffer, got.bytes.byteOffset, got.bytes.length).equals(data));
  }
  await assert.rejects(readLocal(fs, p, data.length - 1, null, () => {}), (e) => e.name === "ResourceError");
});

test("readLocal: a read that fails is a FormatError naming its code, and no other read is left unhandled", async () => {
  const { readLocal } = await import("../src/bundle.js");
  const fs = await import("node:fs");
  const { mkdtempSync: mk } = fs;
  const dir = mk(join(tmpdir(), "rnnconvert-eio-"));
  try {
    const p = join(dir, "w.npz");
    writeFileSync(p, Buffer.alloc(5 * 2 ** 20 + 3, 7));
    const unhandled = [];
    const onUnhandled = (e) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    // every read past the first chunk fails at once, while the first is still being hashed
    const failing = { ...fs, read: (fd, buf, off, len, pos, cb) => (pos > 0 ? cb(Object.assign(new Error("EIO"), { code: "EIO" })) : fs.read(fd, buf, off, len, pos, cb)) };
    await assert.rejects(readLocal(failing, p, 2 ** 30, null, () => {}), (e) => e instanceof FormatError && /EIO/.test(e.message));
    await new Promise((r) => setTimeout(r, 20));
    process.off("unhandledRejection", onUnhandled);
    assert.deepEqual(unhandled, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
