import { test } from "node:test";
import assert from "node:assert/strict";
import { container, inject, injectable } from "tsyringe";
import { findInjectionProblem } from "../../src/plugins/injection.ts";

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
