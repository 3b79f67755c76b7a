/**
 * The answer order of a connection (src/server/answers.ts), without a
 * socket: no-id answers leave in arrival order, id answers at once, a notice
 * behind owed no-id answers; `owed` and `heldChars` count what is kept.
 * Written for the survivors of `npm run mutate -- server` (unit files only);
 * each test names the mutants it kills.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AnswerQueue } from "../../src/server/answers.ts";

// Kills: `this.#owed++` to `--` in now() and expect(); `take()`'s
// `#owed -= #batchAnswers` to `+=`; `#batchChars -= ` to `+=` in take's
// reset; `#batch = []` to `["Stryker was here"]`.
test("an answer ready now: owed and held until taken, then nothing is kept", () => {
  const q = new AnswerQueue();
  assert.equal(q.hasBatch, false);
  q.now("abc", true);
  q.now("de", false);
  assert.equal(q.owed, 2);
  assert.equal(q.heldChars, 5);
  assert.equal(q.hasBatch, true);
  assert.deepEqual(q.take(), ["abc", "de"]);
  assert.equal(q.owed, 0);
  assert.equal(q.heldChars, 0);
  assert.equal(q.hasBatch, false);
  assert.deepEqual(q.take(), [], "a second take has nothing");
  q.now("f", true);
  assert.deepEqual(q.take(), ["f"], "the batch starts empty again");
  assert.equal(q.heldChars, 0);
});

// Kills: in #place, `hasId || head === fifo.length` to `&&` or `false`
// (an id answer or a no-id answer with nothing running would wait);
// in #release, the `slot.text === undefined` break turned off, and
// `head === fifo.length` reset turned `true` or `!==` (pending slots
// dropped); in expect(), `if (hasId) return null` turned `false`.
test("no-id answers leave in arrival order, an id answer leaves at once", () => {
  const q = new AnswerQueue();
  const a = q.expect(false);
  const b = q.expect(false);
  assert.notEqual(a, null);
  assert.equal(q.expect(true), null, "an id request gets no slot");
  q.now("c", false);
  q.now("id1", true);
  assert.deepEqual(q.take(), ["id1"], "the id answer does not wait");
  assert.equal(q.owed, 4);
  assert.equal(q.heldChars, 1, "c is held, waiting");
  q.fill(b, "bb");
  assert.equal(q.hasBatch, false, "b waits for a");
  assert.equal(q.heldChars, 3);
  q.fill(null, "id2");
  assert.deepEqual(q.take(), ["id2"]);
  q.fill(a, "a");
  assert.deepEqual(q.take(), ["a", "bb", "c"]);
  assert.equal(q.owed, 0);
  assert.equal(q.heldChars, 0);
  // All released: a later no-id answer with nothing running leaves at once.
  q.now("d", false);
  assert.deepEqual(q.take(), ["d"]);
});

// Kills: in #place, `if (answer) #batchAnswers++` turned `true`, and
// `if (!answer) slot.notice = true` turned `false` or its `true` to `false`;
// in #release, `slot.notice !== true` turned `true` or `===` (a notice
// counted as an answer makes owed go below the requests still owed).
test("a notice waits behind owed no-id answers and is not counted as an answer", () => {
  const q = new AnswerQueue();
  q.notice("goaway");
  assert.deepEqual(q.take(), ["goaway"], "nothing owed: it leaves at once");
  assert.equal(q.owed, 0);
  const a = q.expect(false);
  q.expect(true);
  q.notice("goaway2");
  assert.equal(q.hasBatch, false);
  assert.equal(q.heldChars, 7);
  q.fill(a, "a");
  assert.deepEqual(q.take(), ["a", "goaway2"]);
  assert.equal(q.owed, 1, "the id request is still owed");
  assert.equal(q.heldChars, 0);
});

// Kills the compaction mutants of #release (`head >= COMPACT_AFTER` and
// `head * 2 >= length` edges, the slice): the order and counts must hold
// across a compaction of the FIFO.
test("a connection with one slow request always outstanding: order holds across compactions", () => {
  const q = new AnswerQueue();
  let slow = q.expect(false);
  let n = 0;
  for (let round = 0; round < 3; round++) {
    const next = [];
    for (let i = 0; i < 1500; i++) next.push(q.expect(false));
    q.fill(slow, `s${round}`);
    for (let i = 0; i < 1499; i++) q.fill(next[i]!, String(n + i));
    const out = q.take();
    assert.equal(out.length, 1500);
    assert.equal(out[0], `s${round}`);
    for (let i = 0; i < 1499; i++) assert.equal(out[i + 1], String(n + i));
    n += 1499;
    slow = next[1499]!;
    assert.equal(q.owed, 1);
  }
  q.fill(slow, "last");
  assert.deepEqual(q.take(), ["last"]);
  assert.equal(q.owed, 0);
  assert.equal(q.heldChars, 0);
});
