/**
 * Calls every method of the app with the typed client:
 *   node --import forkrpc/register client.ts [port]     (npm run client -- 9000)
 * Prints one JSON line per call.
 */
import { RpcClient } from "forkrpc/client";
import type { AddNote, AuditCounts, ListNotes } from "./plugins/notes.ts";
import type { Version, WhoAmI } from "./plugins/whoami.ts";

type Api = {
  "notes.add": typeof AddNote;
  "notes.list": typeof ListNotes;
  "notes.audit": typeof AuditCounts;
  whoami: typeof WhoAmI;
  version: typeof Version;
};

const port = Number(process.argv[2] ?? process.env.APP_PORT ?? 9000);
const writer = new RpcClient<Api>({ port, meta: { token: process.env.APP_WRITER_TOKEN ?? "dev-writer" } });
const reader = new RpcClient<Api>({ port, meta: { token: process.env.APP_READER_TOKEN ?? "dev-reader" } });
const show = (what: string, value: unknown) => console.log(JSON.stringify({ [what]: value }));

try {
  show("version", await reader.call("version"));
  show("whoami", await writer.call("whoami"));
  // tags has a default in the schema: the caller may leave it out.
  show("notes.add", await writer.call("notes.add", { text: "buy milk" }));
  show("notes.add", await writer.call("notes.add", { text: "ship it", tags: ["work"] }));
  show("notes.list", await reader.call("notes.list"));
  show("notes.list", await reader.call("notes.list", { tag: "work" }));
  show("notes.audit", await reader.call("notes.audit"));
  try {
    await reader.call("notes.add", { text: "readers cannot write" });
  } catch (error) {
    show("refused", (error as { code?: string }).code);
  }
} finally {
  await Promise.all([writer.close(), reader.close()]);
}
