// A real browser: headless Debian Chromium (driven by playwright-core) opens the web demo
// page, which loads the example char-LSTM bundle with the JavaScript runtime and continues
// seeds greedily; the text must equal the NumPy runtime's for the same seeds, and the first
// step's probabilities must agree within the parity bound.
//
//   node js/test/browser/browser_check.mjs BUNDLE_DIR REFERENCE_JSON

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startServer } from "../../web/serve.mjs";

const [bundle, referencePath] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

test("the web demo in headless Chromium continues seeds as the NumPy runtime does", { timeout: 300_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const { chromium } = await import("playwright-core");
  const reference = JSON.parse(readFileSync(referencePath, "utf8"));
  const server = await startServer(bundle, 0);
  const profile = mkdtempSync(join(tmpdir(), "rnnconvert-chromium-"));
  // a fresh profile (--user-data-dir, which playwright takes as launchPersistentContext's argument)
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = browser.pages()[0] || (await browser.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.rnnconvertDemo || window.rnnconvertDemoError, null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => window.rnnconvertDemoError || null), null);
    const ua = await page.evaluate(() => navigator.userAgent);
    assert.match(ua, /Chrome/);
    // the browser runs the WebAssembly kernels (load's default), as Node does
    assert.equal(await page.evaluate(() => window.rnnconvertDemo.model.kernels !== null), true);
    for (const run of reference.runs) {
      const got = await page.evaluate(({ seed, count }) => {
        const { model, generate } = window.rnnconvertDemo;
        return { text: generate(seed, count, 0), status: String(model) };
      }, run);
      assert.equal(got.text, run.text, `seed ${JSON.stringify(run.seed)}`);
      const first = await page.evaluate(async (seed) => {
        const { model } = window.rnnconvertDemo;
        const vocab = model.metadata.vocab;
        const ids = Int32Array.from([...seed].map((c) => Math.max(0, vocab.indexOf(c))));
        const [p] = model.step({ data: ids, shape: [1, ids.length] }, model.initialState(1));
        return Array.from(p.data);
      }, run.seed);
      const err = Math.max(...first.map((v, i) => Math.abs(v - run.first_probs[i])));
      assert.ok(err <= 1e-5, `first-step probabilities differ by ${err}`);
    }
    // the page's own button works too
    await page.fill("#count", "20");
    await page.fill("#temperature", "0");
    await page.click("#go");
    const out = await page.textContent("#out");
    assert.ok(out.length > 20, out);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
