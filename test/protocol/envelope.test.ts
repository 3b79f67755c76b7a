import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_MAX_DEPTH,
  encodeError,
  encodeGoaway,
  encodeResponse,
  isRejected,
  parseRequest,
  type RejectedRequest,
  type RequestEnvelope,
} from "../../src/protocol/envelope.ts";
import { WIRE_CODES, type WireCode } from "../../src/protocol/codes.ts";
import { RpcError } from "../../src/errors.ts";

const OUT = JSON.stringify("pong");
const parse = (text: string, maxDepth?: number) => parseRequest(Buffer.from(text, "utf8"), maxDepth);

function accepted(result: RequestEnvelope | RejectedRequest): RequestEnvelope {
  if (isRejected(result)) assert.fail(`expected a request, got ${result.fault.code}: ${result.fault.message}`);
  return result;
}

function rejected(result: RequestEnvelope | RejectedRequest, code: WireCode): RejectedRequest {
  if (!isRejected(result)) assert.fail(`expected ${code}, got a request for ${JSON.stringify(result.method)}`);
  assert.equal(result.fault.code, code, result.fault.message);
  // The message is what the client reads: never empty.
  assert.ok(typeof result.fault.message === "string" && result.fault.message.length > 0, `${code} with no message`);
  return result;
}

function checkShape(result: RequestEnvelope | RejectedRequest): void {
  if (isRejected(result)) {
    assert.ok(Object.hasOwn(WIRE_CODES, result.fault.code), `unknown code ${result.fault.code}`);
    assert.equal(typeof result.fault.message, "string");
    assert.ok(result.id === undefined || typeof result.id === "string" || typeof result.id === "number");
  } else {
    assert.equal(typeof result.method, "string");
    assert.ok(result.id === undefined || typeof result.id === "string" || typeof result.id === "number");
    assert.ok(result.meta !== null && typeof result.meta === "object" && !Array.isArray(result.meta));
    assert.notEqual(result.params, undefined);
  }
}

// ---- never throws ---------------------------------------------------------

test("property: arbitrary bytes never throw and give a request or a rejection with a wire code", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300, size: "medium" }), (bytes) => {
      checkShape(parseRequest(bytes));
      checkShape(parseRequest(bytes, 1));
    }),
    { numRuns: 300 },
  );
});

test("property: bytes made of JSON punctuation never throw (deep, unbalanced, with strings)", () => {
  const unit = fc.constantFrom("[", "]", "{", "}", '"', "\\", ":", ",", "1", "a", "é", " ");
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 200, size: "max" }), fc.integer({ min: 1, max: 8 }), (text, depth) => {
      checkShape(parse(text, depth));
      checkShape(parse(`{"in":"x","params":${text}}`, depth));
    }),
    { numRuns: 300 },
  );
});

test("property: arbitrary JSON values never throw, and are classified as the protocol says", () => {
  const idArb = fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.jsonValue());
  const requestLike = fc.record(
    {
      in: fc.oneof(fc.string(), fc.jsonValue()),
      params: fc.jsonValue(),
      id: idArb,
      meta: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
      other: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), requestLike), (value) => {
      const text = JSON.stringify(value);
      const result = parse(text);
      checkShape(result);
      const v = JSON.parse(text) as unknown; // -0 and the like, as the server sees them
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        rejected(result, "INVALID_REQUEST");
        return;
      }
      const o = v as Record<string, unknown>;
      const idOk = o.id === undefined || typeof o.id === "string" || typeof o.id === "number";
      const metaOk = o.meta === undefined || (o.meta !== null && typeof o.meta === "object" && !Array.isArray(o.meta));
      if (!idOk || typeof o.in !== "string" || !metaOk) {
        const r = rejected(result, "INVALID_REQUEST");
        assert.equal(r.id, idOk ? o.id : undefined);
        return;
      }
      assert.deepEqual(accepted(result), {
        method: o.in,
        params: o.params === undefined ? null : o.params,
        id: o.id,
        meta: o.meta === undefined ? {} : o.meta,
        text,
      });
    }),
    { numRuns: 300 },
  );
});

// ---- valid requests --------------------------------------------------------

test("a full request: method, params, id, meta", () => {
  const text = '{"in":"user.get","params":{"id":7},"id":"r1","meta":{"timeoutMs":500,"token":"t"}}';
  const req = accepted(parse(text));
  assert.deepEqual(req, { method: "user.get", params: { id: 7 }, id: "r1", meta: { timeoutMs: 500, token: "t" }, text });
});

test("the body's text is kept, from start to end only (an offloaded call sends it to its thread)", () => {
  const whole = Buffer.from('xx{"in":"m","params":[1]}yy');
  assert.equal(accepted(parseRequest(whole, undefined, 2, whole.length - 2)).text, '{"in":"m","params":[1]}');
});

test("a minimal request: params null, id undefined, meta empty", () => {
  const req = accepted(parse('{"in":"ping"}'));
  assert.equal(req.method, "ping");
  assert.equal(req.params, null);
  assert.equal(req.id, undefined);
  assert.deepEqual(req.meta, {});
});

test("falsy params are kept as they are; explicit null stays null", () => {
  for (const p of [0, false, "", null, [], {}]) {
    assert.deepEqual(accepted(parse(JSON.stringify({ in: "m", params: p }))).params, p);
  }
});

test("the tutorial's request shape works, and unknown keys are ignored", () => {
  const tutorial = '{"in": "ping", "params": "hello"}';
  assert.deepEqual(accepted(parse(tutorial)), { method: "ping", params: "hello", id: undefined, meta: {}, text: tutorial });
  const text = '{"in":"m","extra":[1,2],"out":"x","result":3}';
  const req = accepted(parse(text));
  assert.deepEqual(req, { method: "m", params: null, id: undefined, meta: {}, text });
});

test("inherited key names are plain strings: `in` = __proto__ is a method name, a __proto__ key is ignored", () => {
  assert.equal(accepted(parse('{"in":"__proto__"}')).method, "__proto__");
  assert.equal(accepted(parse('{"in":"constructor","__proto__":{"in":5}}')).method, "constructor");
  rejected(parse('{"__proto__":{"in":"ping"}}'), "INVALID_REQUEST");
});

test("id: strings and numbers are accepted as they are", () => {
  for (const id of ["", "abc", 0, -1, 1.5, 2 ** 53 - 1]) {
    assert.equal(accepted(parse(JSON.stringify({ in: "m", id }))).id, id);
  }
});

test("an accepted id is echoed exactly by encodeResponse (numeric ids that JSON cannot carry back are refused)", () => {
  // 1e400 is a JSON number but parses to Infinity, which JSON.stringify writes
  // as null: the client would get "id":null and never match its answer.
  const refused = new Set(["1e400", "-1e400"]);
  for (const idText of ['"a"', "7", "-0.25", "1e-400", "12345678901234567890", "1e308", "1e400", "-1e400"]) {
    const result = parse(`{"in":"m","id":${idText}}`);
    assert.equal(isRejected(result), refused.has(idText), `id ${idText} is ${refused.has(idText) ? "refused" : "accepted"}`);
    if (isRejected(result)) {
      assert.equal(result.fault.code, "INVALID_REQUEST", idText);
      continue;
    }
    const echoed = JSON.parse(encodeResponse(OUT, null, result.id)).id;
    assert.equal(echoed, result.id, `id ${idText} parsed as ${String(result.id)} is echoed as ${JSON.stringify(echoed)}`);
  }
});

test("id of any other type is INVALID_REQUEST, with no id in the rejection", () => {
  for (const id of [null, true, false, [], [1], {}, { a: 1 }]) {
    const r = rejected(parse(JSON.stringify({ in: "m", id })), "INVALID_REQUEST");
    assert.equal(r.id, undefined, `id ${JSON.stringify(id)}`);
  }
});

test("meta: objects are accepted; null, arrays, strings, numbers, booleans are INVALID_REQUEST", () => {
  assert.deepEqual(accepted(parse('{"in":"m","meta":{}}')).meta, {});
  assert.deepEqual(accepted(parse('{"in":"m","meta":{"a":[1]}}')).meta, { a: [1] });
  for (const meta of [null, [], [1], "x", 1, true]) {
    const r = rejected(parse(JSON.stringify({ in: "m", id: 9, meta })), "INVALID_REQUEST");
    assert.equal(r.id, 9, "a rejection keeps a readable id");
  }
});

test("meta.timeoutMs is checked at parse: a positive number is kept, anything else is INVALID_REQUEST with the id", () => {
  assert.equal(accepted(parse('{"in":"m","meta":{"timeoutMs":250}}')).meta.timeoutMs, 250);
  assert.equal(accepted(parse('{"in":"m","meta":{"timeoutMs":0.5}}')).meta.timeoutMs, 0.5);
  // 1e400 parses as Infinity: as good as no deadline (deadlineOf), not an error.
  assert.equal(accepted(parse('{"in":"m","meta":{"timeoutMs":1e400}}')).meta.timeoutMs, Infinity);
  for (const bad of ["100", -1, 0, null, true, {}, []]) {
    const r = rejected(parse(JSON.stringify({ in: "m", id: 4, meta: { timeoutMs: bad } })), "INVALID_REQUEST");
    assert.equal(r.fault.message, "meta.timeoutMs must be a positive number", `for ${JSON.stringify(bad)}`);
    assert.equal(r.id, 4);
  }
});

// ---- bad requests ------------------------------------------------------------

test("bodies that are not objects are INVALID_REQUEST", () => {
  for (const body of ["[]", '[{"in":"ping"}]', '"ping"', "1", "-0.5", "null", "true", "false"]) {
    const r = rejected(parse(body), "INVALID_REQUEST");
    assert.equal(r.id, undefined);
    assert.match(r.fault.message, /must be a JSON object/, body);
  }
});

test("`in` missing or not a string is INVALID_REQUEST; a valid id is kept in the rejection", () => {
  for (const inValue of [undefined, null, 1, true, [], ["ping"], {}]) {
    const body = JSON.stringify({ in: inValue, params: 1 });
    assert.equal(rejected(parse(body), "INVALID_REQUEST").id, undefined, body);
    const withId = JSON.stringify({ in: inValue, id: "x1" });
    assert.equal(rejected(parse(withId), "INVALID_REQUEST").id, "x1", withId);
    const withNumId = JSON.stringify({ in: inValue, id: 0 });
    assert.equal(rejected(parse(withNumId), "INVALID_REQUEST").id, 0, withNumId);
  }
});

test("text that is not JSON is PARSE_ERROR", () => {
  for (const body of ["", " ", "{", "{in:1}", "{'in':'x'}", '{"in":"x"} x', '{"in":"x",}', "NaN", "undefined", "\uFEFF{}"]) {
    rejected(parse(body), "PARSE_ERROR");
  }
});

test("invalid UTF-8 is PARSE_ERROR", () => {
  const cases = [
    [0xff], // never valid
    [0xc3], // truncated 2-byte sequence
    [0xc0, 0x80], // overlong NUL
    [0xed, 0xa0, 0x80], // an encoded UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0x80], // lone continuation byte
  ];
  for (const bad of cases) {
    const body = Buffer.concat([Buffer.from('{"in":"'), Buffer.from(bad), Buffer.from('"}')]);
    rejected(parseRequest(body), "PARSE_ERROR");
  }
  // and the same bytes but valid make a request
  assert.equal(accepted(parseRequest(Buffer.from('{"in":"é€😀"}'))).method, "é€😀");
});

// A decoded U+FFFD is what sends a body to the strict check; a real U+FFFD,
// validly encoded (EF BF BD), must pass it (an `||` there refused it unseen).
test("a validly encoded U+FFFD is accepted, also in a view next to invalid bytes", () => {
  assert.equal(accepted(parse('{"in":"a\uFFFDb"}')).method, "a\uFFFDb");
  const whole = Buffer.concat([Buffer.from([0xff]), Buffer.from('{"in":"\uFFFD"}'), Buffer.from([0xc3])]);
  assert.equal(accepted(parseRequest(whole, undefined, 1, whole.length - 1)).method, "\uFFFD");
});

test("a body given as a view into a larger buffer is read within its bounds only", () => {
  const whole = Buffer.from('xx{"in":"ping"}yy');
  assert.equal(accepted(parseRequest(whole.subarray(2, whole.length - 2))).method, "ping");
  const u8 = new Uint8Array(whole.buffer, whole.byteOffset + 2, whole.length - 4);
  assert.equal(accepted(parseRequest(u8)).method, "ping");
});

// ---- nesting -------------------------------------------------------------------

/** A request whose total nesting depth (the envelope object included) is `depth`. */
function nested(depth: number, open = "[", close = "]"): string {
  const inner = depth - 1;
  const params = inner === 0 ? "1" : `${open.repeat(inner)}${close.repeat(inner)}`;
  return `{"in":"deep","params":${params}}`;
}

function nestedObjects(depth: number): string {
  let params = "1";
  for (let i = 1; i < depth; i++) params = `{"a":${params}}`;
  return `{"in":"deep","params":${params}}`;
}

test("nesting at the default limit is accepted, one deeper is PARSE_ERROR", () => {
  assert.equal(DEFAULT_MAX_DEPTH, 512);
  accepted(parse(nested(DEFAULT_MAX_DEPTH)));
  rejected(parse(nested(DEFAULT_MAX_DEPTH + 1)), "PARSE_ERROR");
  accepted(parse(nestedObjects(DEFAULT_MAX_DEPTH)));
  rejected(parse(nestedObjects(DEFAULT_MAX_DEPTH + 1)), "PARSE_ERROR");
});

test("nesting at a custom limit is accepted, one deeper is PARSE_ERROR", () => {
  for (const max of [1, 2, 3, 10]) {
    accepted(parse(nested(max), max));
    rejected(parse(nested(max + 1), max), "PARSE_ERROR");
  }
  accepted(parse('{"in":"m","params":[1,[2],{"a":[3]}]}', 4));
  rejected(parse('{"in":"m","params":[1,[2],{"a":[[3]]}]}', 4), "PARSE_ERROR");
});

test("very deep bodies are refused quickly without throwing", () => {
  const deep = "[".repeat(200_000) + "]".repeat(200_000);
  rejected(parse(deep), "PARSE_ERROR");
  rejected(parse(`{"in":"x","params":${"{\"a\":".repeat(100_000)}1${"}".repeat(100_000)}}`), "PARSE_ERROR");
});

test("brackets inside strings do not count as nesting", () => {
  const brackets = "[".repeat(2000) + "{".repeat(2000);
  assert.equal(accepted(parse(JSON.stringify({ in: "m", params: brackets }))).params, brackets);
  const keyed = JSON.stringify({ in: "m", params: { [brackets]: [brackets] } });
  accepted(parse(keyed));
  // with escaped quotes inside the string, before and among the brackets
  const quoted = `"${"[".repeat(1000)}\\"${"[".repeat(1000)}`;
  assert.equal(accepted(parse(JSON.stringify({ in: "m", params: quoted }))).params, quoted);
  const backslashes = `\\"[[[\\\\${"[".repeat(1000)}`;
  assert.equal(accepted(parse(JSON.stringify({ in: "m", params: backslashes }))).params, backslashes);
});

test("an escaped backslash ends before the closing quote: real nesting after it still counts", () => {
  // the string is `\` (encoded "\\"); a scanner that took \" as an escaped quote
  // would think the string runs on and miss the nesting after it
  const deep = `{"in":"m","params":["\\\\",${"[".repeat(600)}${"]".repeat(600)}]}`;
  assert.equal(JSON.parse(deep).params[0], "\\");
  rejected(parse(deep), "PARSE_ERROR");
  const many = `{"in":"m","params":["\\\\\\\\\\\\",${"[".repeat(600)}${"]".repeat(600)}]}`;
  rejected(parse(many), "PARSE_ERROR");
});

// ---- encoding -------------------------------------------------------------------

test("encodeResponse: {out, result} without an id, {out, result, id} with one", () => {
  assert.deepEqual(JSON.parse(encodeResponse(OUT, "hello", undefined)), { out: "pong", result: "hello" });
  assert.deepEqual(JSON.parse(encodeResponse(OUT, { a: [1] }, "r1")), { out: "pong", result: { a: [1] }, id: "r1" });
  assert.deepEqual(JSON.parse(encodeResponse(OUT, 1, 0)), { out: "pong", result: 1, id: 0 });
  assert.deepEqual(JSON.parse(encodeResponse(OUT, 1, "")), { out: "pong", result: 1, id: "" });
  assert.equal(encodeResponse(OUT, "hello", undefined), '{"out":"pong","result":"hello"}');
});

test("encodeResponse: undefined (and other unencodable-as-absent values) become result null", () => {
  for (const nothing of [undefined, () => 1, Symbol("s")]) {
    const parsed = JSON.parse(encodeResponse(OUT, nothing, undefined));
    assert.deepEqual(parsed, { out: "pong", result: null });
    assert.ok(Object.hasOwn(parsed, "result"));
  }
  assert.deepEqual(JSON.parse(encodeResponse(OUT, null, 5)), { out: "pong", result: null, id: 5 });
});

test("encodeResponse throws for results JSON cannot encode (the caller owns that error)", () => {
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.throws(() => encodeResponse(OUT, cycle, undefined));
  assert.throws(() => encodeResponse(OUT, 10n, undefined));
});

test("property: encodeResponse always yields JSON with exactly out, result and (when given) id", () => {
  fc.assert(
    fc.property(fc.string(), fc.jsonValue(), fc.option(fc.oneof(fc.string(), fc.integer()), { nil: undefined }), (out, result, id) => {
      const parsed = JSON.parse(encodeResponse(JSON.stringify(out), result, id));
      const expected: Record<string, unknown> = { out, result: JSON.parse(JSON.stringify(result)) };
      if (id !== undefined) expected.id = id;
      assert.deepEqual(parsed, expected);
    }),
    { numRuns: 300 },
  );
});

test("encodeError: {out: error, result: {code, message}}, id exactly when given", () => {
  assert.deepEqual(JSON.parse(encodeError({ code: "METHOD_NOT_FOUND", message: "no" }, undefined)), {
    out: "error",
    result: { code: "METHOD_NOT_FOUND", message: "no" },
  });
  assert.deepEqual(JSON.parse(encodeError({ code: "X", message: "m" }, 3)), { out: "error", result: { code: "X", message: "m" }, id: 3 });
  assert.deepEqual(JSON.parse(encodeError({ code: "X", message: "m", data: { why: [1] } }, "a")), {
    out: "error",
    result: { code: "X", message: "m", data: { why: [1] } },
    id: "a",
  });
  assert.deepEqual(JSON.parse(encodeError({ code: "X", message: "m", data: null }, undefined)), {
    out: "error",
    result: { code: "X", message: "m", data: null },
  });
});

test("encodeError drops undeliverable data but keeps code, message and id", () => {
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const hostile = {
    toJSON() {
      throw new Error("no");
    },
  };
  for (const data of [cycle, 10n, hostile, { nested: [10n] }]) {
    for (const id of [undefined, "r", 0]) {
      const text = encodeError({ code: "APP_ERROR", message: "it broke", data }, id);
      const expected: Record<string, unknown> = { out: "error", result: { code: "APP_ERROR", message: "it broke" } };
      if (id !== undefined) expected.id = id;
      assert.deepEqual(JSON.parse(text), expected);
    }
  }
});

test("encodeError sends only code, message and data: no stack, name or other property", () => {
  const err = new RpcError("APP_ERROR", "it broke", { a: 1 });
  assert.deepEqual(JSON.parse(encodeError(err, undefined)), {
    out: "error",
    result: { code: "APP_ERROR", message: "it broke", data: { a: 1 } },
  });
  const withExtras = { code: "X", message: "m", stack: "Error: at secret.ts:1", name: "E", cause: "c" };
  assert.deepEqual(JSON.parse(encodeError(withExtras, undefined)), { out: "error", result: { code: "X", message: "m" } });
});

test("encodeGoaway: {out: goaway, result: {reason}} and never an id", () => {
  assert.deepEqual(JSON.parse(encodeGoaway("server reloading")), { out: "goaway", result: { reason: "server reloading" } });
  assert.equal(encodeGoaway('quote " and \\ and é'), JSON.stringify({ out: "goaway", result: { reason: 'quote " and \\ and é' } }));
});
