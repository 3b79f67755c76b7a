import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { serve, type Served } from "../helpers/server.ts";
import { RawPeer, request } from "../helpers/wire.ts";

let server: Served;
before(async () => {
  server = await serve();
});
after(async () => {
  await server.stop();
});

test("the example ping answers pong with its params", async () => {
  const peer = await RawPeer.open(server.port);
  peer.write(request("ping", "hello"));
  assert.deepEqual(await peer.read(), { out: "pong", result: "hello" });
  peer.close();
});
