/**
 * The public surface: src/index.ts exports exactly the names docs/api.md
 * lists, and every `import ... from "forkrpc"` in the docs and the README
 * names one of them (an internal type exported by accident, or a page
 * importing a name that is gone, fails here).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import * as api from "../src/index.ts";
import { ROOT } from "./helpers/server.ts";

/** The names index.ts exports, from its export declarations (types included). */
function exportedNames(): Set<string> {
  const file = join(ROOT, "src/index.ts");
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      assert.ok(clause !== undefined && ts.isNamedExports(clause), "index.ts names what it exports: no `export *`");
      for (const element of clause.elements) names.add(element.name.text);
    } else {
      const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
      assert.ok(!modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword), "index.ts only re-exports: no logic of its own");
    }
  }
  return names;
}

/** The first column of docs/api.md's tables. */
function documentedNames(): Set<string> {
  const text = readFileSync(join(ROOT, "docs/api.md"), "utf8");
  return new Set([...text.matchAll(/^\| `([A-Za-z_]+)` \|/gm)].map((m) => m[1]!));
}

const sorted = (names: Iterable<string>) => [...names].sort();

test("index.ts exports exactly the names docs/api.md lists", () => {
  const documented = documentedNames();
  assert.ok(documented.size > 30, `docs/api.md lists ${documented.size} names: its table format changed?`);
  assert.deepEqual(sorted(exportedNames()), sorted(documented));
});

test("every value the module exports at run time is a listed name", () => {
  const exported = exportedNames();
  const extra = Object.keys(api).filter((name) => !exported.has(name));
  assert.deepEqual(extra, []);
  for (const name of ["Rpc", "RpcError", "defineConfig", "container", "singleton"]) assert.ok(name in api, name);
  assert.ok(!("registry" in api), "tsyringe's registry is not forkrpc's API");
});

test("the docs and the README import from \"forkrpc\" only names it exports", () => {
  const exported = exportedNames();
  const pages = [join(ROOT, "README.md"), ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join(ROOT, "docs", f))];
  const unknown: string[] = [];
  let imports = 0;
  for (const page of pages) {
    for (const m of readFileSync(page, "utf8").matchAll(/import(?: type)?\s*\{([^}]*)\}\s*from\s*"forkrpc"/g)) {
      imports++;
      for (const part of m[1]!.split(",")) {
        const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]!;
        if (name !== "" && !exported.has(name)) unknown.push(`${page.slice(ROOT.length)}: ${name}`);
      }
    }
  }
  assert.ok(imports > 10, `only ${imports} imports from "forkrpc" found in the docs`);
  assert.deepEqual(unknown, []);
});
