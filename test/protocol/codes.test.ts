// The docs sync test (STYLE.md habit 2): every code in the one table of error
// codes is documented in docs/errors.md, and docs/errors.md documents no code
// that does not exist. A code is documented by a table row whose first cell
// is the code in backticks: | `PARSE_ERROR` | ... |
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BOOT_CODES, CLI_CODES, REGISTRY_CODES, WIRE_CODES } from "../../src/errors.ts";

const DOC = new URL("../../docs/errors.md", import.meta.url);

/** Every backticked code in the first cell of a markdown table row. */
function documentedCodes(markdown: string): string[] {
  const codes: string[] = [];
  for (const line of markdown.split(/\r?\n/)) {
    const row = /^\s*\|\s*`([^`]+)`\s*\|/.exec(line);
    if (row) codes.push(row[1]!.trim());
  }
  return codes;
}

test("documentedCodes reads the first backticked cell of table rows only", () => {
  const md = [
    "| code | when |",
    "|---|---|",
    "| `PARSE_ERROR` | body is not JSON |",
    "|`BAD_FRAME`|prefix 0|",
    "| plain | `NOT_A_CODE` in another cell |",
    "Text mentioning `ALSO_NOT` outside a table.",
    "  | `INDENTED` | x |",
  ].join("\n");
  assert.deepEqual(documentedCodes(md), ["PARSE_ERROR", "BAD_FRAME", "INDENTED"]);
});

test("docs/errors.md documents exactly the wire, boot, command and registry codes of src/errors.ts", () => {
  let markdown: string;
  try {
    markdown = readFileSync(DOC, "utf8");
  } catch (error) {
    assert.fail(`docs/errors.md cannot be read (${(error as Error).message}); it must document every error code`);
  }
  const documented = new Set(documentedCodes(markdown));
  const defined = new Set([...Object.keys(WIRE_CODES), ...Object.keys(BOOT_CODES), ...Object.keys(CLI_CODES), ...Object.keys(REGISTRY_CODES)]);
  const undocumented = [...defined].filter((code) => !documented.has(code)).sort();
  const unknown = [...documented].filter((code) => !defined.has(code)).sort();
  assert.deepEqual(
    { undocumented, unknown },
    { undocumented: [], unknown: [] },
    `docs/errors.md and src/errors.ts disagree.\n` +
      `  defined in src but not documented: ${undocumented.join(", ") || "(none)"}\n` +
      `  documented but not defined in src: ${unknown.join(", ") || "(none)"}`,
  );
});

// The table's `closes` and `when` are public (WIRE_CODES is exported) and read
// by no server code, so only this test holds them: a mutation run showed
// every `closes: false` could turn true unnoticed.
test("each wire code's `closes` agrees with the 'connection afterwards' column of docs/errors.md, and `when` says something", () => {
  const markdown = readFileSync(DOC, "utf8");
  for (const [code, row] of Object.entries(WIRE_CODES)) {
    const line = markdown.split(/\r?\n/).find((l) => l.startsWith(`| \`${code}\` |`));
    assert.ok(line !== undefined, `no docs row for ${code}`);
    const cells = line.split("|").map((c) => c.trim()).filter((c) => c !== "");
    const stays = cells[cells.length - 1]!.startsWith("stays open");
    assert.equal(row.closes, !stays, `${code}: closes ${row.closes}, docs say "${cells[cells.length - 1]}"`);
    assert.ok(row.when.trim().length > 10, `${code}: a description in \`when\``);
  }
});
