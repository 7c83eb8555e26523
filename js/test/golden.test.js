// Every golden bundle (tests/data/golden/<version>/bundle*) loads, reproduces its embedded
// test vectors, and predicts its expected.npz (Keras's own outputs) within the parity bound,
// with the WebAssembly kernels (the default) and with the JavaScript ones.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { load } from "rnnconvert"; // the package entry: dist/rnnconvert.js
import { readNpz, toTensor } from "../src/bundle.js";
import { tolerance } from "../src/verify.js";

const GOLDEN = fileURLToPath(new URL("../../tests/data/golden/", import.meta.url));
const bundles = [];
for (const version of readdirSync(GOLDEN).sort()) {
  const dir = join(GOLDEN, version);
  if (!statSync(dir).isDirectory()) continue;
  for (const b of readdirSync(dir).sort()) if (b.startsWith("bundle") && existsSync(join(dir, b, "model.json"))) bundles.push([version, b]);
}

test("there are golden bundles", () => assert.ok(bundles.length >= 3, `found ${bundles.length}`));

for (const [[version, name], kernels] of bundles.flatMap((b) => [[b, "auto"], [b, "js"]])) {
  const dir = join(GOLDEN, version, name);
  test(`golden ${version}/${name} (kernels ${kernels}): embedded test vectors reproduce`, async () => {
    const model = await load(dir, { kernels });
    assert.equal(model.kernels === null, kernels === "js");
    const report = model.check();
    assert.ok(report, "the bundle has test vectors");
    assert.ok(report.ok, report.lines.join("\n"));
  });

  // expected.npz holds the float32 model's outputs: a quantized variant is held to its
  // recorded quantization error on its own test vectors only (above).
  const expectedPath = join(GOLDEN, version, "expected.npz");
  const quantized = readFileSync(join(dir, "model.json"), "utf8").includes('"quantization"');
  const skip = !existsSync(expectedPath) ? "no expected.npz" : quantized ? "quantized weights" : false;
  test(`golden ${version}/${name} (kernels ${kernels}): predict matches expected.npz`, { skip }, async () => {
    const model = await load(dir, { kernels });
    const e = await readNpz(new Uint8Array(readFileSync(expectedPath)));
    const ins = "inputs" in e ? [e.inputs] : model.inputs.map((_, k) => e[`inputs_${k}`]);
    const outs = "outputs" in e ? [e.outputs] : model.outputs.map((_, k) => e[`outputs_${k}`]);
    let got = model.predict(ins.map(toTensor));
    got = Array.isArray(got) ? got : [got];
    got.forEach((g, k) => {
      const want = toTensor(outs[k]);
      assert.deepEqual(g.shape, want.shape);
      let err = 0;
      for (let i = 0; i < want.data.length; i++) if (Number.isFinite(want.data[i])) err = Math.max(err, Math.abs(g.data[i] - want.data[i]));
      const tol = tolerance(want.data);
      assert.ok(err <= tol, `output ${k}: max |error| ${err} > ${tol}`);
    });
  });
}
