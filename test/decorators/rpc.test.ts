/**
 * @Rpc records, besides the method's metadata, the file that applied it (read
 * from the stack at decoration time), and records a second application
 * instead of throwing, so that loading can refuse it with a coded error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Rpc, rpcDecorationsOf, rpcMetaOf, watchDecorations } from "../../src/decorators/rpc.ts";
import { fileFromStack } from "../../src/decorators/caller-file.ts";

const HERE = fileURLToPath(import.meta.url);

@Rpc("recorded", { out: "done" })
class Recorded {
  handle() {
    return 1;
  }
}

test("a decorated class records the file that defines it", () => {
  assert.deepEqual(rpcDecorationsOf(Recorded), [{ meta: { name: "recorded", out: "done" }, file: HERE }]);
});

test("the file is found however the decorator is called: directly, or through Reflect.decorate", () => {
  class Direct {
    handle() {}
  }
  Rpc("direct")(Direct);
  assert.equal(rpcDecorationsOf(Direct)[0]?.file, HERE);

  // tsc's __decorate and swc's _ts_decorate go through reflect-metadata's
  // Reflect.decorate: its frames sit between the caller and @Rpc.
  class ThroughReflect {
    handle() {}
  }
  Reflect.decorate([Rpc("throughReflect") as ClassDecorator], ThroughReflect);
  assert.equal(rpcDecorationsOf(ThroughReflect)[0]?.file, HERE);
});

test("with stack traces turned off the file is undefined (loading falls back to the importing file)", () => {
  class NoStack {
    handle() {}
  }
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    Rpc("noStack")(NoStack);
  } finally {
    Error.stackTraceLimit = limit;
  }
  assert.equal(rpcDecorationsOf(NoStack)[0]?.file, undefined);
  assert.equal(rpcMetaOf(NoStack)?.name, "noStack");
});

test("@Rpc applied twice is recorded, not thrown (it used to be 'Cannot redefine property')", () => {
  let Twice: Function | undefined;
  const watch = watchDecorations();
  assert.doesNotThrow(() => {
    @Rpc("outer")
    @Rpc("inner")
    class T {
      handle() {}
    }
    Twice = T;
  });
  const names = rpcDecorationsOf(Twice).map((d) => d.meta.name);
  assert.deepEqual(names, ["inner", "outer"], "decorators run bottom-up");
  assert.equal(rpcMetaOf(Twice)?.name, "inner");
  watch.stop();
  assert.deepEqual(watch.classes, [Twice], "listed once");
});

test("a watch sees only what is decorated while it runs, and nothing is kept once it stops", () => {
  class Before {
    handle() {}
  }
  Rpc("before")(Before);
  const watch = watchDecorations();
  class During {
    handle() {}
  }
  Rpc("during")(During);
  watch.stop();
  class After {
    handle() {}
  }
  Rpc("after")(After);
  assert.deepEqual(watch.classes, [During]);
  assert.equal(rpcMetaOf(After)?.name, "after", "metadata is recorded with no watch");
});

test("a subclass does not inherit its base's decorations", () => {
  class Sub extends Recorded {}
  assert.deepEqual(rpcDecorationsOf(Sub), []);
  assert.equal(rpcMetaOf(Sub), undefined);
  assert.deepEqual(rpcDecorationsOf("not a class"), []);
});

test("fileFromStack: source-mapped paths, file URLs, and frames that are not app code", () => {
  const mapped = [
    "Error",
    "    at DecorateConstructor (/app/node_modules/reflect-metadata/Reflect.js:549:33)",
    "    at Reflect.decorate (/app/node_modules/reflect-metadata/Reflect.js:143:24)",
    "    at _ts_decorate (file:///app/plugins/greeter.ts:4:21)",
    "    at <anonymous> (/app/plugins/greeter.ts:4:19)",
    "    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)",
  ].join("\n");
  assert.equal(fileFromStack(mapped), "/app/plugins/greeter.ts");

  const unmapped = ["Error", "    at file:///app/my%20plugins/a%20(1).ts:3:1", "    at async ModuleJob.run (node:internal/modules/esm/module_job:325:25)"];
  assert.equal(fileFromStack(unmapped.join("\n")), "/app/my plugins/a (1).ts");

  const parens = "Error\n    at Object.<anonymous> (/app/proj (copy)/plugins/x.js:1:2)";
  assert.equal(fileFromStack(parens), "/app/proj (copy)/plugins/x.js");

  const evaluated = ["Error", "    at eval (eval at run (file:///app/runner.ts:1:1), <anonymous>:1:1)", "    at /app/plugins/real.ts:2:3"];
  assert.equal(fileFromStack(evaluated.join("\n")), "/app/plugins/real.ts");

  assert.equal(fileFromStack("Error\n    at node:internal/main/run_main_module:28:49"), undefined);
  assert.equal(fileFromStack("Error"), undefined);
  assert.equal(fileFromStack("Error\n    at relative/path.ts:1:1"), undefined, "only absolute paths");
});
