import { test } from "node:test";
import assert from "node:assert/strict";
import { BOOT_CODES, BootError, RpcError, toWireError, WIRE_CODES } from "../src/errors.ts";

const GENERIC = { code: "INTERNAL", message: "internal error" };

/** The exact wire error, with no extra key (deepEqual on a plain object checks own keys). */
function assertGeneric(thrown: unknown, label: string): void {
  let wire: unknown;
  assert.doesNotThrow(() => {
    wire = toWireError(thrown);
  }, `toWireError threw for ${label}`);
  assert.deepEqual({ ...(wire as object) }, GENERIC, label);
  assert.deepEqual(Object.keys(wire as object).sort(), ["code", "message"], label);
}

test("an RpcError passes its code, message and data", () => {
  assert.deepEqual({ ...toWireError(new RpcError("NOT_FOUND", "no user 7", { id: 7 })) }, {
    code: "NOT_FOUND",
    message: "no user 7",
    data: { id: 7 },
  });
  assert.deepEqual({ ...toWireError(new RpcError("INVALID_PARAMS", "bad", null)) }, { code: "INVALID_PARAMS", message: "bad", data: null });
  assert.deepEqual({ ...toWireError(new RpcError("INVALID_PARAMS", "bad", 0)) }, { code: "INVALID_PARAMS", message: "bad", data: 0 });
});

test("an RpcError without data has no data key at all", () => {
  const wire = toWireError(new RpcError("PERMISSION_DENIED", "no"));
  assert.deepEqual({ ...wire }, { code: "PERMISSION_DENIED", message: "no" });
  assert.equal(Object.hasOwn(wire, "data"), false);
  assert.equal(Object.hasOwn(toWireError(new RpcError("X", "m", undefined)), "data"), false);
});

test("the wire error of an RpcError carries no stack, name or cause", () => {
  const err = new RpcError("APP", "m", { a: 1 });
  (err as any).cause = new Error("secret");
  const wire = toWireError(err);
  assert.deepEqual(Object.keys(wire).sort(), ["code", "data", "message"]);
});

test("subclasses of RpcError pass through too", () => {
  class NotFound extends RpcError {
    constructor(what: string) {
      super("NOT_FOUND", `${what} not found`);
    }
  }
  assert.deepEqual({ ...toWireError(new NotFound("user")) }, { code: "NOT_FOUND", message: "user not found" });
});

test("anything that is not an RpcError becomes the generic INTERNAL, and nothing else", () => {
  const withCode = Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), { code: "ECONNREFUSED" });
  const cases: Array<[unknown, string]> = [
    [new Error("database password is hunter2"), "plain Error"],
    [new TypeError("x is undefined"), "TypeError"],
    [withCode, "Error with a code property"],
    ["a string", "string"],
    ["", "empty string"],
    [null, "null"],
    [undefined, "undefined"],
    [42, "number"],
    [Symbol("s"), "symbol"],
    [{ code: "NOT_FOUND", message: "looks like an RpcError" }, "object with code and message"],
    [{ code: "INTERNAL", message: "secret", data: { x: 1 } }, "object imitating the INTERNAL shape"],
    [{ name: "RpcError", code: "X", message: "m" }, "object named RpcError"],
    [
      {
        toString() {
          throw new Error("no");
        },
      },
      "object whose toString throws",
    ],
    [Object.create(null), "null-prototype object"],
    [[1, 2], "array"],
    [() => {}, "function"],
    [Promise.resolve(1), "promise"],
  ];
  for (const [thrown, label] of cases) assertGeneric(thrown, label);
});

test("an RpcError with an empty code becomes INTERNAL", () => {
  assertGeneric(new RpcError("", "m"), "empty code");
});

test("RpcError.is: true for RpcErrors and for a copy's errors (the Symbol.for brand), false otherwise", () => {
  assert.equal(RpcError.is(new RpcError("X", "m")), true);
  const fromCopy = { [Symbol.for("forkrpc.RpcError")]: true, code: "FROM_COPY", message: "second module copy", data: [1] };
  assert.equal(RpcError.is(fromCopy), true);
  assert.deepEqual({ ...toWireError(fromCopy) }, { code: "FROM_COPY", message: "second module copy", data: [1] });
  // a class from another copy: same brand, different constructor
  class OtherCopyRpcError extends Error {
    readonly code = "OTHER";
    constructor() {
      super("from the other copy");
      Object.defineProperty(this, Symbol.for("forkrpc.RpcError"), { value: true });
    }
  }
  const other = new OtherCopyRpcError();
  assert.equal(other instanceof RpcError, false);
  assert.equal(RpcError.is(other), true);
  assert.deepEqual({ ...toWireError(other) }, { code: "OTHER", message: "from the other copy" });

  for (const value of [
    new Error("x"),
    { code: "X", message: "m" },
    { [Symbol.for("forkrpc.RpcError")]: "true" },
    { [Symbol.for("forkrpc.RpcError")]: 1 },
    { [Symbol("forkrpc.RpcError")]: true },
    null,
    undefined,
    "RpcError",
  ]) {
    assert.equal(RpcError.is(value), false, String(typeof value));
  }
});

test("toWireError never throws, even for hostile thrown values (the one place errors become wire errors)", () => {
  // A Proxy whose every trap throws: reading any property of it throws.
  const hostileProxy = new Proxy(
    {},
    {
      get() {
        throw new Error("trap");
      },
      getPrototypeOf() {
        throw new Error("trap");
      },
      has() {
        throw new Error("trap");
      },
    },
  );
  assertGeneric(hostileProxy, "a Proxy whose get trap throws");
});

test("toWireError never throws for a branded error whose message cannot be read or turned into a string", () => {
  const brand = Symbol.for("forkrpc.RpcError");
  const badMessage = {
    [brand]: true,
    code: "APP",
    message: {
      toString() {
        throw new Error("no");
      },
    },
  };
  const throwingGetter = {
    [brand]: true,
    code: "APP",
    get message(): string {
      throw new Error("no");
    },
  };
  for (const [value, label] of [
    [badMessage, "message whose toString throws"],
    [throwingGetter, "message getter that throws"],
  ] as const) {
    let wire: { code: string; message: string } | undefined;
    assert.doesNotThrow(() => {
      wire = toWireError(value);
    }, label);
    assert.equal(typeof wire?.code, "string", label);
    assert.equal(typeof wire?.message, "string", label);
  }
});

test("BootError carries its code and message; codes do not overlap with wire codes", () => {
  const err = new BootError("CONFIG_INVALID", "bad key", { cause: "c" });
  assert.equal(err.code, "CONFIG_INVALID");
  assert.equal(err.message, "bad key");
  assert.equal(err.name, "BootError");
  assert.equal(err.cause, "c");
  const overlap = Object.keys(BOOT_CODES).filter((code) => Object.hasOwn(WIRE_CODES, code));
  assert.deepEqual(overlap, []);
});
