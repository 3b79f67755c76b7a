import { z } from "zod";
import { injectable, Rpc, Use, type Infer, type MiddlewareContext, type Next, type RpcContext } from "forkrpc";
import { AuditLog } from "../services/audit-log.ts";
import { NoteStore } from "../services/note-store.ts";

const NewNote = z.object({
  text: z.string().min(1).max(1_000),
  tags: z.array(z.string().min(1).max(30)).max(10).default([]),
});

// A call without params sends null: accept it as "no filter".
const Query = z.object({ tag: z.string().optional() }).nullish();

/** Middleware for @Use only: no @Middleware, so it runs just where it is named. */
@injectable()
export class Audited {
  constructor(private readonly audit: AuditLog) {}

  async use(ctx: MiddlewareContext, next: Next) {
    await next();
    this.audit.record(ctx.request.method);
  }
}

/** Adds a note; needs the notes:write scope. `tags` may be left out (the schema's default). */
@Use(Audited)
@Rpc("notes.add", { description: "Adds a note.", params: NewNote, scopes: ["notes:write"] })
export class AddNote {
  constructor(private readonly store: NoteStore) {}

  handle(params: Infer<typeof NewNote>, ctx: RpcContext) {
    const by = (ctx.state.principal as { id: string } | undefined)?.id ?? "nobody";
    ctx.log.info({ by, tags: params.tags }, "note added");
    return this.store.add(params.text, params.tags, by);
  }
}

/** Lists notes, all or those with one tag; any signed-in caller. */
@Use(Audited)
@Rpc("notes.list", { description: "Lists notes, optionally by tag.", params: Query })
export class ListNotes {
  constructor(private readonly store: NoteStore) {}

  handle(params: Infer<typeof Query>) {
    return this.store.find(params?.tag);
  }
}

/** How many times each audited method ran in this worker. */
@Rpc("notes.audit", { description: "Counts of audited calls in this worker." })
export class AuditCounts {
  constructor(private readonly audit: AuditLog) {}

  handle() {
    return this.audit.counts();
  }
}
