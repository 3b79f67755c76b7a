import { test } from "node:test";
import assert from "node:assert/strict";
import { container, inject, injectable } from "tsyringe";
import { dependencyTokens, findInjectionProblem, isBuiltIn } from "../../src/plugins/injection.ts";

// An interface leaves only `Object` in the emitted metadata.
interface Clock {
  now(): number;
}

@injectable()
class Database {}

@injectable()
class Fine {
  constructor(readonly db: Database) {}
}

@injectable()
class NoParams {}

@injectable()
class UsesInterface {
  constructor(readonly clock: Clock) {}
}

@injectable()
class SecondParamBad {
  constructor(
    readonly db: Database,
    readonly clock: Clock,
  ) {}
}

@injectable()
class UsesPrimitive {
  constructor(readonly size: number) {}
}

@injectable()
class Repo {
  constructor(readonly clock: Clock) {}
}

@injectable()
class UserService {
  constructor(readonly repo: Repo) {}
}

@injectable()
class Handler {
  constructor(readonly users: UserService) {}
}

@injectable()
class WithToken {
  constructor(
    @inject("clock") readonly clock: Clock,
    readonly db: Database,
  ) {}
}

@injectable()
class WithTokenOnWrongParam {
  constructor(
    @inject("db") readonly db: Database,
    readonly clock: Clock,
  ) {}
}

class NoMetadata {
  constructor(
    readonly a: Database,
    readonly b: Clock,
  ) {}
}

@injectable()
class NeedsNoMetadata {
  constructor(readonly dep: NoMetadata) {}
}

class NoMetadataNoParams {}

@injectable()
class NeedsPlainNoParams {
  constructor(readonly dep: NoMetadataNoParams) {}
}

const fresh = () => container.createChildContainer();

test("a correct class, and a class without parameters, have no problem", () => {
  assert.equal(findInjectionProblem(Fine, fresh()), null);
  assert.equal(findInjectionProblem(NoParams, fresh()), null);
  assert.equal(findInjectionProblem(Database, fresh()), null);
  assert.equal(findInjectionProblem(NeedsPlainNoParams, fresh()), null);
});

test("a parameter typed by an interface (metadata Object) names the class and the parameter", () => {
  const problem = findInjectionProblem(UsesInterface, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.match(problem, /^UsesInterface\b/);
  assert.ok(problem.includes("parameter 1 (index 0)"), problem);
  assert.ok(problem.includes("Object"), problem);
});

test("the second parameter is named as parameter 2 (index 1)", () => {
  const problem = findInjectionProblem(SecondParamBad, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.ok(problem.includes("SecondParamBad"), problem);
  assert.ok(problem.includes("parameter 2 (index 1)"), problem);
});

test("a primitive parameter is a problem", () => {
  const problem = findInjectionProblem(UsesPrimitive, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.ok(problem.includes("UsesPrimitive") && problem.includes("parameter 1 (index 0)") && problem.includes("Number"), problem);
});

test("a problem in a transitive service names the whole chain", () => {
  const problem = findInjectionProblem(Handler, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.ok(problem.includes("Handler -> UserService -> Repo"), problem);
  assert.ok(problem.includes("parameter 1 (index 0)"), problem);
});

test("a service already registered in the container is not inspected", () => {
  const c = fresh();
  c.register(Repo, { useValue: new Repo({ now: () => 0 }) });
  assert.equal(findInjectionProblem(Handler, c), null);
});

test("@inject(token) on the parameter makes it fine; a token on another parameter does not", () => {
  assert.equal(findInjectionProblem(WithToken, fresh()), null);
  const problem = findInjectionProblem(WithTokenOnWrongParam, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.ok(problem.includes("WithTokenOnWrongParam") && problem.includes("parameter 2 (index 1)"), problem);
});

test("a class with constructor parameters but no metadata at all is reported", () => {
  assert.equal(Reflect.getMetadata("design:paramtypes", NoMetadata), undefined); // the premise
  const problem = findInjectionProblem(NoMetadata, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.ok(problem.includes("NoMetadata"), problem);
  assert.ok(problem.includes("no type metadata"), problem);
});

test("a class without metadata, reached through a service, is reported with the chain", () => {
  const problem = findInjectionProblem(NeedsNoMetadata, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.ok(problem.includes("NeedsNoMetadata -> NoMetadata"), problem);
});

test("an undecorated subclass with its own constructor parameters is reported, though its base has metadata", () => {
  // Child has no metadata of its own; Reflect.getMetadata walks the prototype
  // chain and finds Base's. tsyringe keys its type info by the exact class,
  // so it cannot construct Child ("TypeInfo not known for \"Child\"").
  @injectable()
  class Base {
    constructor(readonly db: Database) {}
  }
  class Child extends Base {
    constructor(
      db: Database,
      readonly clock: Clock,
    ) {
      super(db);
    }
  }
  assert.equal(Reflect.getOwnMetadata("design:paramtypes", Child), undefined); // the premise
  assert.throws(() => fresh().resolve(Child), /TypeInfo not known/); // what tsyringe does with it
  const problem = findInjectionProblem(Child, fresh());
  assert.ok(problem !== null, "expected a problem for Child, got none");
  assert.ok(problem.includes("Child"), problem);
});

test("a dependency cycle does not loop forever", () => {
  @injectable()
  class A {
    constructor(readonly db: Database) {}
  }
  // make A's metadata point back at A through B
  @injectable()
  class B {
    constructor(readonly a: A) {}
  }
  const types = Reflect.getMetadata("design:paramtypes", A) as unknown[];
  Reflect.defineMetadata("design:paramtypes", [B, ...types.slice(1)], A);
  assert.equal(findInjectionProblem(A, fresh()), null);
  assert.equal(findInjectionProblem(B, fresh()), null);
});

// Built-ins tsyringe can construct with no arguments: it used to inject a
// fresh, empty one without a word (and URL failed with "Invalid URL").
@injectable()
class UsesMap {
  constructor(readonly cache: Map<string, number>) {}
}
@injectable()
class UsesSet {
  constructor(readonly seen: Set<string>) {}
}
@injectable()
class UsesWeakMap {
  constructor(readonly byObject: WeakMap<object, number>) {}
}
@injectable()
class UsesWeakSet {
  constructor(readonly marked: WeakSet<object>) {}
}
@injectable()
class UsesDate {
  constructor(readonly startedAt: Date) {}
}
@injectable()
class UsesRegExp {
  constructor(readonly pattern: RegExp) {}
}
@injectable()
class UsesError {
  constructor(readonly last: Error) {}
}
@injectable()
class UsesArrayBuffer {
  constructor(readonly buffer: ArrayBuffer) {}
}
@injectable()
class UsesUint8Array {
  constructor(readonly bytes: Uint8Array) {}
}
@injectable()
class UsesUrl {
  constructor(
    readonly db: Database,
    readonly base: URL,
  ) {}
}
@injectable()
class ServiceWithMap {
  constructor(readonly cache: Map<string, number>) {}
}
@injectable()
class HandlerOfServiceWithMap {
  constructor(readonly service: ServiceWithMap) {}
}
@injectable()
class InjectsMapByToken {
  constructor(@inject("cache") readonly cache: Map<string, number>) {}
}

test("built-in classes as parameter types are reported, with @inject(token) advice (Map, Set, Date, URL...)", () => {
  assert.equal(fresh().resolve(UsesMap).cache.size, 0, "the premise: tsyringe quietly injects a new, empty Map");
  const cases: [Function, string, number][] = [
    [UsesMap, "Map", 0],
    [UsesSet, "Set", 0],
    [UsesWeakMap, "WeakMap", 0],
    [UsesWeakSet, "WeakSet", 0],
    [UsesDate, "Date", 0],
    [UsesRegExp, "RegExp", 0],
    [UsesError, "Error", 0],
    [UsesArrayBuffer, "ArrayBuffer", 0],
    [UsesUint8Array, "Uint8Array", 0],
    [UsesUrl, "URL", 1],
  ];
  for (const [cls, type, index] of cases) {
    const problem = findInjectionProblem(cls, fresh());
    assert.ok(problem !== null, `expected a problem for ${cls.name}`);
    assert.ok(problem.startsWith(`${cls.name}: constructor parameter ${index + 1} (index ${index}) has type ${type}, a built-in class`), problem);
    assert.ok(problem.includes("@inject(token)") && problem.includes("useValue"), problem);
    assert.ok(!problem.includes("import type"), `no advice about imports: ${problem}`);
  }
});

test("a built-in reached through a service names the chain", () => {
  const problem = findInjectionProblem(HandlerOfServiceWithMap, fresh());
  assert.ok(problem !== null, "expected a problem");
  assert.ok(problem.startsWith("HandlerOfServiceWithMap -> ServiceWithMap: constructor parameter 1 (index 0) has type Map"), problem);
});

test("a built-in is fine with @inject(token), or when a value is registered under the built-in itself", () => {
  assert.equal(findInjectionProblem(InjectsMapByToken, fresh()), null);
  const c = fresh();
  c.register(Map, { useValue: new Map() });
  assert.equal(findInjectionProblem(UsesMap, c), null);
});

test("isBuiltIn: globals only, not user classes that share a name or extend a built-in", () => {
  for (const type of [Map, Set, WeakMap, WeakSet, Date, RegExp, Error, TypeError, ArrayBuffer, Float64Array, URL, URLSearchParams, Buffer, AbortController]) {
    assert.ok(isBuiltIn(type), type.name);
  }
  const NamedUrl = class URL {};
  class Cache extends Map {}
  assert.equal(NamedUrl.name, "URL"); // the premise: same name as the global
  for (const type of [NamedUrl, Cache, Database, Object, undefined, "Map"]) assert.equal(isBuiltIn(type), false, String(type));
  assert.equal(dependencyTokens(UsesUrl).has(globalThis.URL), false, "built-ins are not tokens to watch");
});
