/**
 * Several hosts on one machine, for tests: network namespaces joined by
 * veth pairs to a bridge that lives in a namespace of its own, so every
 * address (10.88.0.0/24) exists only inside namespaces the test made, and
 * nothing touches the machine's own interfaces. Names carry the test's pid,
 * so parallel test files never collide. Needs root and iproute2: guard with
 * missingTools("netns").
 *
 *   const lab = createLab();
 *   t.after(() => lab.close());                 // kills what it started, deletes every namespace
 *   await lab.addHost("h1", "10.88.0.11");
 *   const proc = lab.spawn("h1", process.execPath, [...]);   // its own process group
 *   lab.cut("h1");                              // its cable pulled: packets vanish, no reset
 *   lab.heal("h1");
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";

export interface Lab {
  /** The full namespace name of a host ("frpc1234-h1"). */
  ns(host: string): string;
  addHost(host: string, ip: string): Promise<void>;
  /** Starts a command in a host's namespace, in a process group of its own (killGroup ends it and its children). */
  spawn(host: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Signals a process group started by spawn (no-op if it is gone). */
  killGroup(proc: ChildProcess, signal: NodeJS.Signals): void;
  /** Sets the bridge side of a host's veth down: its packets are dropped silently, both ways. */
  cut(host: string): void;
  heal(host: string): void;
  /** Runs `fn` in close(), after the processes are gone (temp dirs, say). */
  onClose(fn: () => void): void;
  /** Kills every process group spawned and deletes every namespace (also after a failure). */
  close(): Promise<void>;
}

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

export function createLab(): Lab {
  const tag = `frpc${process.pid}`;
  const bridge = `${tag}-br`;
  const namespaces: string[] = [];
  const procs = new Set<ChildProcess>();
  const cleanups: (() => void)[] = [];
  let bridged = false;
  const ns = (host: string) => `${tag}-${host}`;
  const veth = (host: string) => `v${host}`.slice(0, 15);

  const addNs = (name: string) => {
    ip("netns", "add", name);
    namespaces.push(name);
    ip("-n", name, "link", "set", "lo", "up");
  };

  const lab: Lab = {
    ns,
    async addHost(host, address) {
      if (!bridged) {
        addNs(bridge);
        ip("-n", bridge, "link", "add", "br0", "type", "bridge");
        ip("-n", bridge, "link", "set", "br0", "up");
        bridged = true;
      }
      const name = ns(host);
      addNs(name);
      // Made inside the two namespaces at once: no name ever exists in the machine's own.
      ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", veth(host), "netns", bridge);
      ip("-n", bridge, "link", "set", veth(host), "master", "br0");
      ip("-n", bridge, "link", "set", veth(host), "up");
      ip("-n", name, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", name, "link", "set", "eth0", "up");
    },
    spawn(host, command, args, options = {}) {
      const proc = spawn("ip", ["netns", "exec", ns(host), command, ...args], { stdio: ["ignore", "pipe", "pipe"], ...options, detached: true });
      procs.add(proc);
      proc.once("exit", () => procs.delete(proc));
      return proc;
    },
    killGroup(proc, signal) {
      try {
        process.kill(-(proc.pid as number), signal);
      } catch {
        // gone already
      }
    },
    cut(host) {
      ip("-n", bridge, "link", "set", veth(host), "down");
    },
    heal(host) {
      ip("-n", bridge, "link", "set", veth(host), "up");
    },
    onClose(fn) {
      cleanups.push(fn);
    },
    async close() {
      const exits = [...procs].map((p) => new Promise((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve(null) : p.once("exit", resolve))));
      for (const p of procs) {
        lab.killGroup(p, "SIGCONT");
        lab.killGroup(p, "SIGKILL");
      }
      await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5_000))]);
      for (const name of namespaces.reverse()) spawnSync("ip", ["netns", "del", name], { timeout: 10_000 });
      namespaces.length = 0;
      for (const fn of cleanups.splice(0)) fn();
    },
  };
  return lab;
}
