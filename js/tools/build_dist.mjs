// Bundle the runtime (index.js and src/) into dist/rnnconvert.js, the file the package's entry
// point names: one ES module instead of ~30, which a cold start in Node imports in about half
// the time (the loader's cost is per module: resolving, reading, linking), and a browser fetches
// in one request. It is built, not committed: `make js-dist` (and `make test`, `make web-demo`),
// `npm run build`; `npm pack` and `npm test` run it too. Needs the `esbuild` dev dependency
// (npm ci). test/dist.test.js checks the file is what the current sources build to.
//
//   node tools/build_dist.mjs          (from js/, or anywhere)

import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const OUT = fileURLToPath(new URL("../dist/rnnconvert.js", import.meta.url));

const BANNER = "// Built by tools/build_dist.mjs from index.js and src/ (esbuild): edit those, not this.";

/** The text of dist/rnnconvert.js built from the current sources. */
export async function bundleText() {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ["index.js"],
    bundle: true,
    format: "esm",
    platform: "neutral", // Node and browsers: node: built-ins are only reached through import(name) at run time
    target: "es2022",
    write: false,
    outfile: "dist/rnnconvert.js",
    banner: { js: BANNER },
    legalComments: "none",
    logLevel: "silent",
  });
  if (result.errors.length || result.warnings.length) throw new Error(`esbuild: ${JSON.stringify([...result.errors, ...result.warnings])}`);
  return result.outputFiles[0].text;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await bundleText();
  mkdirSync(new URL("../dist/", import.meta.url), { recursive: true });
  writeFileSync(OUT, text);
  console.log(`${OUT}: ${text.length} bytes`);
}
