/**
 * What to do next, for boot errors whose message says what went wrong but
 * not how to get past it. Printed after the error by the CLI (--workers 0)
 * and by the master (a worker's boot failure).
 */

/** A hint line for a boot error, or undefined when the message is enough. */
export function bootHint(code: string, message: string): string | undefined {
  if (code === "LISTEN_FAILED") return listenHint(message);
  return undefined;
}

function listenHint(message: string): string {
  const at = /cannot listen on (.*):(\d+):/.exec(message);
  const port = at?.[2] ?? "PORT";
  if (/EADDRINUSE/.test(message)) {
    return (
      `another process holds port ${port}: see which with \`ss -ltnp 'sport = :${port}'\` (or \`lsof -iTCP:${port} -sTCP:LISTEN\`); ` +
      `stop it (forkrpc stop, if it is a forkrpc server with a pid file), or serve on another port: --port N, or --port 0 for a free one`
    );
  }
  if (/EADDRNOTAVAIL/.test(message)) {
    return `${at?.[1] ?? "the host"} is not an address of this machine: use 127.0.0.1, 0.0.0.0 (every address) or one that \`ip addr\` lists (--host, or host in the config)`;
  }
  if (/EACCES/.test(message)) return `ports below 1024 need privileges: use a port from 1024 up (--port N, or --port 0 for a free one)`;
  return `check --host and --port (or host and port in the config); --port 0 picks a free port`;
}
