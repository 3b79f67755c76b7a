/**
 * A hostile server's strings reach the terminal escaped: `forkrpc list`,
 * `call` and `bench` print method names, descriptions, error codes and
 * messages with every control character (C0, DEL, C1) shown as an escape,
 * and their JSON output stays valid JSON that holds the same strings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers/server.ts";
import { RawServer } from "../client/helpers.ts";
import { safeJson, visible } from "../../src/cli/escape.ts";

/** Title change, clear screen, CSI as a C1 control, DEL, NUL, CR, NEL, a bidi override. */
const EVIL = "a\x1b]0;pwned\x07b\x1b[2Jc\u009b31md\x7fe\x00f\rg\u0085h\u202ei";
/** Any control character but the newline and tab that lay the output out. */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function assertClean(text: string, what: string): void {
  const found = RAW_CONTROL.exec(text);
  assert.equal(found, null, `${what} holds a raw control character U+${found?.[0].charCodeAt(0).toString(16).padStart(4, "0")}: ${JSON.stringify(text)}`);
}

test("visible() shows every control character as an escape and leaves other text alone", () => {
  assert.equal(visible(EVIL), "a\\x1b]0;pwned\\x07b\\x1b[2Jc\\u009b31md\\x7fe\\x00f\\rg\\u0085h\\u202ei");
  assert.equal(visible("tab\there\nnewline"), "tab\\there\\nnewline");
  assert.equal(visible("héllo wörld ✓ 日本"), "héllo wörld ✓ 日本");
  const json = safeJson({ s: EVIL, n: [1, 2] }, 2) as string;
  assertClean(json.replaceAll("\n", ""), "safeJson");
  assert.deepEqual(JSON.parse(json), { s: EVIL, n: [1, 2] });
});

const DISCOVERED = {
  methods: [
    {
      name: `evil${EVIL}`,
      out: `out${EVIL}`,
      description: `desc${EVIL}`,
      scopes: [`scope${EVIL}`],
      timeoutMs: 100,
      params: { type: "object", properties: { [`k${EVIL}`]: { enum: [EVIL] } } },
    },
    { name: "fine", out: "fine" },
  ],
};

test("forkrpc list and list --json: a hostile rpc.discover's strings are escaped", async () => {
  const raw = await RawServer.start((conn, req) => conn.send({ out: "rpc.discover", result: DISCOVERED, id: req.id }));
  try {
    const table = await runCli(["list", "--port", String(raw.port)]);
    assert.equal(table.code, 0, table.stderr);
    assertClean(table.stdout, "the table");
    assert.match(table.stdout, /evila\\x1b\]0;pwned\\x07b\\x1b\[2Jc\\u009b31md\\x7fe\\x00f\\rg\\u0085h\\u202ei/);
    assert.match(table.stdout, /desca\\x1b/);
    assert.match(table.stdout, /scopes: scopea\\x1b/);
    assert.equal(table.stdout.trimEnd().split("\n").length, 3, "one header and two rows: no line broken by the server's text");

    const json = await runCli(["list", "--json", "--port", String(raw.port)]);
    assert.equal(json.code, 0, json.stderr);
    assertClean(json.stdout, "list --json");
    assert.deepEqual(JSON.parse(json.stdout), DISCOVERED);
  } finally {
    await raw.close();
  }
});

test("forkrpc list: a hostile error answer to rpc.discover is escaped", async () => {
  const raw = await RawServer.start((conn, req) => conn.send({ out: "error", result: { code: `E${EVIL}`, message: `m${EVIL}` }, id: req.id }));
  try {
    const r = await runCli(["list", "--port", String(raw.port)]);
    assert.equal(r.code, 1);
    assertClean(r.stderr, "list's error");
    assert.match(r.stderr, /^Ea\\x1b\]0;pwned.*: ma\\x1b\]0;pwned/);
  } finally {
    await raw.close();
  }
});

test("forkrpc call: a hostile result and a hostile error are escaped, the result stays valid JSON", async () => {
  const raw = await RawServer.start((conn, req) => {
    if (req.in === "good") conn.send({ out: "good", result: { text: EVIL, list: [EVIL] }, id: req.id });
    else conn.send({ out: "error", result: { code: `E${EVIL}`, message: `boom${EVIL}`, data: { why: EVIL } }, id: req.id });
  });
  try {
    const ok = await runCli(["call", "good", "--port", String(raw.port)]);
    assert.equal(ok.code, 0, ok.stderr);
    assertClean(ok.stdout, "call's result");
    assert.deepEqual(JSON.parse(ok.stdout), { text: EVIL, list: [EVIL] });

    const out = await runCli(["call", "good", "--out", "--port", String(raw.port)]);
    assertClean(out.stdout, "call --out");
    assert.deepEqual(JSON.parse(out.stdout), { out: "good", result: { text: EVIL, list: [EVIL] } });

    const bad = await runCli(["call", "bad", "--port", String(raw.port)]);
    assert.equal(bad.code, 1);
    assertClean(bad.stderr, "call's error");
    const [first, ...rest] = bad.stderr.split("\n");
    assert.equal(first, `E${visible(EVIL)}: boom${visible(EVIL)}`);
    assert.deepEqual(JSON.parse(rest.join("\n")), { why: EVIL });
  } finally {
    await raw.close();
  }
});

test("forkrpc bench: hostile error codes in the summary are escaped, text and --json", { timeout: 60_000 }, async () => {
  // The call before the load (RpcClient: it has an id) is answered; every request of the load (no ids) gets a hostile error.
  const raw = await RawServer.start((conn, req) => {
    if (req.id !== undefined) conn.send({ out: "ping", result: "hello", id: req.id });
    else conn.send({ out: "error", result: { code: `E${EVIL}`, message: `m${EVIL}` } });
  });
  try {
    for (const format of [[], ["--json"]]) {
      const r = await runCli(["bench", "--port", String(raw.port), "--connections", "1", "--pipeline", "1", "--duration", "1", ...format], { timeoutMs: 30_000 });
      assert.equal(r.code, 1, r.stderr);
      assertClean(r.stdout, `bench ${format.join(" ")}`);
      assertClean(r.stderr, `bench ${format.join(" ")} stderr`);
      if (format.length === 0) assert.match(r.stdout, /errors +[\d,]+ \(Ea\\x1b\]0;pwned\\x07b/);
      else assert.ok((JSON.parse(r.stdout) as { errorsByCode: Record<string, number> }).errorsByCode[`E${EVIL}`]! > 0);
    }
  } finally {
    await raw.close();
  }
});

test("forkrpc bench: a hostile error to the call before the load is escaped", async () => {
  const raw = await RawServer.start((conn, req) => conn.send({ out: "error", result: { code: `E${EVIL}`, message: `m${EVIL}` }, id: req.id }));
  try {
    const r = await runCli(["bench", "--port", String(raw.port), "--duration", "1"], { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assertClean(r.stderr.replaceAll("\n", ""), "bench's stderr");
    assert.match(r.stderr, /^forkrpc: Ea\\x1b\]0;pwned\\x07b.*: ma\\x1b\]0;pwned/);
  } finally {
    await raw.close();
  }
});
