/**
 * The dashboard's files: its page and script from src/admin/dashboard/
 * (plain files, no build step), and uPlot from its npm package. Read once
 * and kept: they are a few tens of KB.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** From src/admin/ and dist/admin/ alike, the package root is two folders up: the page ships in src/. */
const PAGE_DIR = fileURLToPath(new URL("../../src/admin/dashboard/", import.meta.url));

function uplotDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve("uplot/package.json")), "dist");
}

const FILES: Record<string, { file: () => string; type: string }> = {
  "/index.html": { file: () => join(PAGE_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/dashboard.js": { file: () => join(PAGE_DIR, "dashboard.js"), type: "text/javascript; charset=utf-8" },
  "/dashboard.css": { file: () => join(PAGE_DIR, "dashboard.css"), type: "text/css; charset=utf-8" },
  "/uplot.js": { file: () => join(uplotDir(), "uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "/uplot.css": { file: () => join(uplotDir(), "uPlot.min.css"), type: "text/css; charset=utf-8" },
};

const cache = new Map<string, Buffer>();

/** The asset served at `path`, or null when there is none. */
export function readAsset(path: string): { body: Buffer; type: string } | null {
  const entry = Object.hasOwn(FILES, path) ? FILES[path] : undefined;
  if (entry === undefined) return null;
  let body = cache.get(path);
  if (body === undefined) {
    body = readFileSync(entry.file());
    cache.set(path, body);
  }
  return { body, type: entry.type };
}
