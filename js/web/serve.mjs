// Serve the web demo: node js/web/serve.mjs BUNDLE_DIR [--port 8000]
//   /            js/web/index.html      /bundle/*   the bundle directory
//   everything else from js/ (read-only, no listing); the vocabulary is in the bundle's metadata

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const JS_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json", ".npz": "application/octet-stream" };

function inside(root, rel) {
  const p = resolve(root, "." + sep + normalize(decodeURIComponent(rel)));
  return p === root || p.startsWith(root + sep) ? p : null;
}

export function startServer(bundleDir, port = 0, host = "127.0.0.1") {
  const bundle = resolve(bundleDir);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    let file = null;
    if (url.pathname === "/" || url.pathname === "/index.html") file = join(JS_ROOT, "web", "index.html");
    else if (url.pathname.startsWith("/bundle/")) file = inside(bundle, url.pathname.slice("/bundle/".length));
    else if (url.pathname.startsWith("/web/") || url.pathname.startsWith("/src/") || url.pathname.startsWith("/dist/") || url.pathname === "/index.js") file = inside(JS_ROOT, url.pathname.slice(1));
    else if (url.pathname === "/demo.js") file = join(JS_ROOT, "web", "demo.js");
    try {
      if (!file) throw new Error("not found");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream", "content-length": body.length });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    }
  });
  return new Promise((ok) => server.listen(port, host, () => ok(server)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const bundle = args.find((a) => !a.startsWith("--")) || "build/charlstm-bundle";
  const i = args.indexOf("--port");
  const server = await startServer(bundle, i >= 0 ? Number(args[i + 1]) : 8000);
  console.log(`web demo: http://127.0.0.1:${server.address().port}/  (bundle ${bundle}; Ctrl-C stops)`);
}
