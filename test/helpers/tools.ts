/**
 * Real components the tests drive (etcd, promtool, prometheus, chromium,
 * openssl, h2load, ip netns). On a machine without one, its tests skip and
 * say what to install; under FORKRPC_CI=1 (.ci/run, which installs them all)
 * a missing one is a failure, because a skipped test proves nothing.
 */
import { spawnSync } from "node:child_process";

export interface Tool {
  /** The command and arguments that must exit 0. */
  probe: [string, ...string[]];
  /** What makes it present: "apt-get install etcd-server", say. */
  install: string;
}

export const TOOLS = {
  etcd: { probe: ["etcd", "--version"], install: "apt-get install etcd-server" },
  etcdctl: { probe: ["etcdctl", "version"], install: "apt-get install etcd-client" },
  promtool: { probe: ["promtool", "--version"], install: "apt-get install prometheus" },
  prometheus: { probe: ["prometheus", "--version"], install: "apt-get install prometheus" },
  chromium: { probe: ["chromium", "--version"], install: "apt-get install chromium" },
  openssl: { probe: ["openssl", "version"], install: "apt-get install openssl" },
  h2load: { probe: ["h2load", "--version"], install: "apt-get install nghttp2-client" },
  /** Network namespaces need the ip command and the right to make them (root). */
  netns: { probe: ["sh", "-c", "ip netns list >/dev/null && [ \"$(id -u)\" = 0 ]"], install: "apt-get install iproute2, and run as root" },
} satisfies Record<string, Tool>;

/**
 * undefined when every tool is present, else why not (for `test(name, { skip })`).
 * Throws under FORKRPC_CI=1 instead of returning a reason.
 */
export function missingTools(...names: (keyof typeof TOOLS)[]): string | undefined {
  const absent = names.filter((name) => {
    const [cmd, ...args] = TOOLS[name].probe;
    return spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 }).status !== 0;
  });
  if (absent.length === 0) return undefined;
  const reason = `missing ${absent.join(", ")}: ${[...new Set(absent.map((n) => TOOLS[n].install))].join("; ")}`;
  if (process.env.FORKRPC_CI === "1") throw new Error(`FORKRPC_CI is set, and ${reason}`);
  return reason;
}
