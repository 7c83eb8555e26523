#!/usr/bin/env node
// rnnconvert (JavaScript): `check BUNDLE` runs a bundle's embedded test vectors (exit 1 on a
// mismatch); `predict BUNDLE IN.npz OUT.npz` runs a model on the arrays of IN.npz (named by
// input name, or arr_0, arr_1, ... in input order) and writes its outputs by output name.

import { readFile, writeFile } from "node:fs/promises";
import { load } from "../src/model.js";
import { readNpz, toTensor } from "../src/bundle.js";
import { check } from "../src/verify.js";
import { writeNpy } from "../src/npy.js";
import { writeZip } from "../src/zip.js";
import { InputError, RnnConvertError } from "../src/errors.js";

const USAGE = "usage: rnnconvert.js check BUNDLE | rnnconvert.js predict BUNDLE IN.npz OUT.npz";

async function runCheck([bundle, ...rest]) {
  if (!bundle || rest.length) return usage();
  const model = await load(bundle);
  console.log(`${bundle}: format ${model.formatVersion}; SHA-256, shapes and dtypes ok`);
  const report = check(model);
  if (!report) {
    console.log("no test vectors stored");
    return 0;
  }
  console.log(report.lines.join("\n"));
  return report.ok ? 0 : 1;
}

async function runPredict([bundle, input, output, ...rest]) {
  if (!output || rest.length) return usage();
  const model = await load(bundle);
  const arrays = await readNpz(new Uint8Array(await readFile(input)));
  const values = model.inputs.map((info, k) => {
    const a = arrays[info.name] || arrays[`arr_${k}`] || (model.inputs.length === 1 ? Object.values(arrays)[0] : undefined);
    if (!a) throw new InputError(`${input}: no array named '${info.name}' or 'arr_${k}'`);
    return toTensor(a);
  });
  let outs = model.predict(values);
  outs = Array.isArray(outs) ? outs : [outs];
  const entries = outs.map((t, k) => {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    return [`${model.outputs[k].name}.npy`, writeNpy(t.dtype, t.shape, bytes)];
  });
  await writeFile(output, writeZip(entries));
  console.log(`${output}: ${outs.map((t, k) => `${model.outputs[k].name} [${t.shape}]`).join(", ")}`);
  return 0;
}

function usage() {
  console.error(USAGE);
  return 2;
}

async function main(argv) {
  const [command, ...rest] = argv;
  try {
    if (command === "check") return await runCheck(rest);
    if (command === "predict") return await runPredict(rest);
    return usage();
  } catch (err) {
    if (err instanceof RnnConvertError) {
      console.error(`rnnconvert: error: ${err.message}`);
      return 1;
    }
    if (err && err.code === "ENOENT") {
      console.error(`rnnconvert: error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
