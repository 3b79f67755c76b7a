import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeRequest, errorOf, isGoaway, isMalformed, parseResponse, type ResponseEnvelope } from "../../src/protocol/client-envelope.ts";
import { encodeError, encodeGoaway, encodeResponse, parseRequest, isRejected } from "../../src/protocol/envelope.ts";

const parse = (text: string) => parseResponse(Buffer.from(text, "utf8"));

function ok(r: ReturnType<typeof parse>): ResponseEnvelope {
  if (isMalformed(r)) assert.fail(`expected a response, got: ${r.malformed}`);
  return r;
}

test("encodeRequest is read back by the server's parseRequest", () => {
  const text = encodeRequest(JSON.stringify("ping"), JSON.stringify({ a: [1, "é"] }), 7, '{"timeoutMs":500,"token":"t"}');
  const req = parseRequest(Buffer.from(text));
  assert.ok(!isRejected(req));
  assert.deepEqual(req, { method: "ping", params: { a: [1, "é"] }, id: 7, meta: { timeoutMs: 500, token: "t" }, text });
  const noMetaText = encodeRequest('"m"', "null", "id-1", undefined);
  const noMeta = parseRequest(Buffer.from(noMetaText));
  assert.deepEqual(noMeta, { method: "m", params: null, id: "id-1", meta: {}, text: noMetaText });
});

test("parseResponse reads what the server's encoders write", () => {
  assert.deepEqual(ok(parse(encodeResponse('"pong"', "hi", 3))), { out: "pong", result: "hi", id: 3 });
  assert.deepEqual(ok(parse(encodeResponse('"x"', undefined, "a"))), { out: "x", result: null, id: "a" });
  const error = ok(parse(encodeError({ code: "APP", message: "no", data: { n: 1 } }, 4)));
  assert.deepEqual(errorOf(error), { code: "APP", message: "no", data: { n: 1 } });
  assert.equal(errorOf(ok(parse(encodeResponse('"pong"', 1, 1)))), null);
  const goaway = ok(parse(encodeGoaway("SIGTERM")));
  assert.ok(isGoaway(goaway));
  assert.ok(!isGoaway(ok(parse('{"out":"goaway","result":null,"id":1}'))), "a goaway carries no id");
});

test("parseResponse names what is wrong with a malformed response", () => {
  const cases: Array<[string, RegExp]> = [
    ["nope", /not JSON: "nope"/],
    ["x".repeat(100), /not JSON: "x{40}\.\.\."/],
    ["null", /not a JSON object/],
    ['"s"', /not a JSON object/],
    ["[]", /not a JSON object/],
    ['{"result":1}', /`out` is missing/],
    ['{"out":1}', /`out` is missing or not a string/],
    ['{"out":"x","id":null}', /`id`/],
    ['{"out":"x","id":1e400}', /`id`/],
    ['{"out":"error","result":"bad","id":1}', /no string `code` and `message`/],
    ['{"out":"error","result":{"code":1,"message":"m"},"id":1}', /no string `code`/],
    ["[".repeat(1_000) + "]".repeat(1_000), /nested deeper than 512 levels/],
  ];
  for (const [text, why] of cases) {
    const r = parse(text);
    assert.ok(isMalformed(r), text);
    assert.match(r.malformed, why);
  }
});

test("property: arbitrary bytes never make parseResponse throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const r = parseResponse(Buffer.from(bytes));
      if (isMalformed(r)) assert.equal(typeof r.malformed, "string");
      else assert.equal(typeof r.out, "string");
    }),
    { numRuns: 300 },
  );
});

test("property: any JSON value as a response body never throws", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const r = parse(JSON.stringify(value));
      if (!isMalformed(r)) errorOf(r);
    }),
    { numRuns: 300 },
  );
});

// Cases a mutation run (npm run mutate -- protocol) showed no test held.
test("encodeRequest without an id leaves the key out", () => {
  const text = encodeRequest('"ping"', "1", undefined, undefined);
  assert.equal(text, '{"in":"ping","params":1}');
  assert.deepEqual(parseRequest(Buffer.from(text)), { method: "ping", params: 1, id: undefined, meta: {}, text });
});

test("a response without result reads as null; errorOf leaves out data that is not there", () => {
  assert.deepEqual(ok(parse('{"out":"x","id":1}')), { out: "x", result: null, id: 1 });
  assert.deepEqual(errorOf(ok(parse('{"out":"error","result":{"code":"C","message":"m"},"id":1}'))), { code: "C", message: "m" });
});

test("only out goaway without an id is a goaway", () => {
  assert.equal(isGoaway(ok(parse('{"out":"pong","result":1}'))), false);
});

test("an error whose result is null, or whose message is not a string, is malformed (and nothing throws)", () => {
  for (const text of ['{"out":"error","result":null,"id":1}', '{"out":"error","result":{"code":"C","message":5},"id":1}']) {
    const r = parse(text);
    assert.ok(isMalformed(r), text);
    assert.match(r.malformed, /no string `code` and `message`/);
  }
});

test("a malformed body of exactly 40 characters is quoted whole, without an ellipsis", () => {
  const r = parse("y".repeat(40));
  assert.ok(isMalformed(r));
  assert.equal(r.malformed, `not JSON: "${"y".repeat(40)}"`);
});
