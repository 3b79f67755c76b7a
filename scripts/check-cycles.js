#!/usr/bin/env node
// Fails when the import graph under a folder (default: src) has a cycle,
// between files or between folders. Every import counts, `import type`
// included: a type-only cycle still means two modules cannot be understood,
// moved or tested apart. Lint holds the directions folder by folder
// (eslint.config.js); this holds "no cycle at all", which no per-folder rule
// can see. Usage: node scripts/check-cycles.js [folder]
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

// Static imports and re-exports (one or many lines; nothing between the
// keyword and `from` may be `;`, `(` or `=`, so declarations never match),
// side-effect imports, and dynamic imports of a literal.
const SPECIFIERS = [
  /^[ \t]*(?:import|export)\b[^;()=]*?\bfrom\s*["']([^"']+)["']/gm,
  /^[ \t]*import\s*["']([^"']+)["']/gm,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
];

/** Every .ts/.js file under dir (no node_modules, no .d.ts), sorted. */
function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "node_modules") out.push(...sourceFiles(path));
    } else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith(".d.ts")) {
      out.push(path);
    }
  }
  return out;
}

/** The relative specifiers a file imports, resolved to files that exist. */
function importsOf(file) {
  const text = readFileSync(file, "utf8");
  const found = new Set();
  for (const pattern of SPECIFIERS) {
    for (const match of text.matchAll(pattern)) {
      const spec = match[1];
      if (!spec.startsWith("./") && !spec.startsWith("../")) continue;
      const target = resolveFile(resolve(dirname(file), spec));
      if (target !== undefined) found.add(target);
    }
  }
  return [...found].sort();
}

function resolveFile(path) {
  for (const candidate of [path, `${path}.ts`, join(path, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** file -> files it imports, with paths relative to root, for files under root. */
export function importGraph(folder) {
  const root = resolve(folder);
  const graph = new Map();
  const files = sourceFiles(root);
  const inside = new Set(files);
  for (const file of files) {
    const targets = importsOf(file).filter((t) => inside.has(t));
    graph.set(rel(root, file), targets.map((t) => rel(root, t)));
  }
  return graph;
}

/** Folders as nodes: a file in the root stands for itself, any other for its top folder. */
export function folderGraph(graph) {
  const unit = (file) => (file.includes("/") ? `${file.split("/")[0]}/` : file);
  const folders = new Map();
  for (const [file, targets] of graph) {
    const from = unit(file);
    if (!folders.has(from)) folders.set(from, new Set());
    for (const target of targets) if (unit(target) !== from) folders.get(from).add(unit(target));
  }
  return new Map([...folders].map(([k, v]) => [k, [...v].sort()]));
}

/** One cycle per strongly connected component with more than one node (or a self-import). */
export function findCycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  let next = 0;
  // Tarjan's algorithm; recursion depth is bounded by the number of files.
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node), index.get(to)));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(new Set(component));
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => cycleIn(graph, component));
}

/** A shortest path from the component's first node back to itself, staying inside the component. */
function cycleIn(graph, component) {
  const start = [...component].sort()[0];
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const to of graph.get(node) ?? []) {
      if (!component.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

function rel(root, file) {
  return relative(root, file).split(sep).join("/");
}

/** The report lines for a folder: empty when it has no cycle. */
export function checkCycles(root) {
  const graph = importGraph(root);
  const lines = findCycles(graph).map((cycle) => `file cycle: ${cycle.join(" -> ")}`);
  lines.push(...findCycles(folderGraph(graph)).map((cycle) => `folder cycle: ${cycle.join(" -> ")}`));
  return lines;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? "src");
  const problems = checkCycles(root);
  for (const line of problems) console.error(line);
  if (problems.length > 0) {
    console.error(`${problems.length} import cycle(s) under ${relative(process.cwd(), root) || "."}: see docs/architecture.md for the directions`);
    process.exit(1);
  }
}
