// dist/rnnconvert.js, the package's entry point, is index.js and src/ bundled by
// tools/build_dist.mjs (make builds it before the tests): it is what the current sources build
// to, the package name resolves to it, it exports what index.js does, and the packed package
// works outside the repository. (golden.test.js runs the golden bundles through it; the unit
// tests import src/.)

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { OUT, bundleText } from "../tools/build_dist.mjs";

test("dist/rnnconvert.js is what the sources build to (make js-dist)", async () => {
  assert.ok(existsSync(OUT), "dist/rnnconvert.js is missing: run make js-dist (or npm run build in js/)");
  assert.ok(readFileSync(OUT, "utf8") === (await bundleText()), "dist/rnnconvert.js is stale: run make js-dist (or npm run build in js/)");
});

test("the package's entry point is dist/rnnconvert.js, with index.js's exports", async () => {
  assert.match(import.meta.resolve("rnnconvert"), /\/dist\/rnnconvert\.js$/);
  const dist = await import("rnnconvert");
  const src = await import("../index.js");
  assert.deepEqual(Object.keys(dist).sort(), Object.keys(src).sort());
  assert.notEqual(dist.load, src.load, "a separate copy of the code");
  assert.equal(typeof dist.Model.prototype.check, "function");
});

test("the packed package installs and runs a golden bundle from outside the repository", async (t) => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const dir = mkdtempSync(join(tmpdir(), "rnnconvert-pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" };
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const tgz = execFileSync(npm, ["pack", "--silent", "--pack-destination", dir], { ...quiet, cwd: fileURLToPath(new URL("..", import.meta.url)) }).trim().split("\n").pop();
  const app = join(dir, "app");
  execFileSync("mkdir", [app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  execFileSync(npm, ["install", "--offline", "--no-audit", "--no-fund", "--silent", join(dir, tgz)], { ...quiet, cwd: app });
  const golden = fileURLToPath(new URL("../../tests/data/golden/1.3.0/bundle", import.meta.url));
  writeFileSync(join(app, "main.js"), `import { load } from "rnnconvert";\nconst m = await load(${JSON.stringify(golden)});\nconsole.log(JSON.stringify({ ok: m.check().ok, wasm: m.kernels !== null }));\n`);
  const out = JSON.parse(execFileSync(process.execPath, ["main.js"], { ...quiet, cwd: app }).trim());
  assert.deepEqual(out, { ok: true, wasm: true });
});
