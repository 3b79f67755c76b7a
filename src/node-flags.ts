/**
 * Node flags forkrpc adds or takes away. A worker process starts with the
 * master's own flags plus a cap on the young generation, unless the user
 * set one.
 *
 * V8 grows a busy process's semi-space towards 16 MB as soon as a little
 * survives each scavenge, and a forkrpc worker always has some requests in
 * flight when one runs; the space is not given back while load lasts. Capped
 * at 4 MB, a worker measured (Node 24, one process, same run) 104 MB PSS
 * instead of 128 after 32x32 16 B pings and 109-114 instead of 157 after
 * 16 KB at 512x1, at the same requests/s and CPU per request (0.99-1.03x):
 * scavenges are 4x as many and each cheaper, since little survives them.
 */
export const WORKER_SEMI_SPACE_MB = 4;

/** A V8 flag that sizes the young generation, in argv or NODE_OPTIONS form (`_` or `-`). */
function sizesYoungGeneration(flag: string): boolean {
  return /^--(?:max-semi-space-size|min-semi-space-size|semi-space-growth-factor)(?:=|$)/.test(flag.replace(/_/g, "-"));
}

export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  if ([...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some(sizesYoungGeneration)) return [...execArgv];
  return [...execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];
}

/**
 * The flags a worker_thread may be given explicitly: new Worker() refuses
 * V8's heap sizing flags in `execArgv` (ERR_WORKER_INVALID_EXEC_ARGV),
 * although a thread that inherits them is fine. A thread's heap is sized
 * with resourceLimits instead.
 */
export function threadFlags(execArgv: readonly string[]): string[] {
  return execArgv.filter((flag) => !sizesYoungGeneration(flag));
}
