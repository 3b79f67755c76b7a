import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeTicketKeys, TICKET_KEYS_BYTES, TicketKeys } from "../../src/cluster/ticket-keys.ts";

test("the master's ticket keys: 48 bytes, the same until rotated, new after", () => {
  let n = 0;
  const keys = new TicketKeys((size) => Buffer.alloc(size, ++n));
  const first = keys.encoded;
  assert.equal(keys.encoded, first);
  assert.deepEqual(decodeTicketKeys(first), Buffer.alloc(TICKET_KEYS_BYTES, 1));
  const second = keys.rotate();
  assert.notEqual(second, first);
  assert.equal(keys.encoded, second);
  assert.deepEqual(decodeTicketKeys(second), Buffer.alloc(TICKET_KEYS_BYTES, 2));
});

test("a worker ignores keys that are not 48 bytes of base64", () => {
  for (const bad of [undefined, 42, "", Buffer.alloc(47).toString("base64"), Buffer.alloc(49).toString("base64")]) {
    assert.equal(decodeTicketKeys(bad), null, String(bad));
  }
  assert.equal(new TicketKeys().rotate().length, 64); // 48 bytes in base64
});
