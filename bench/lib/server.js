// Starting a peer server on a free port and stopping it by its pid. A bench
// interrupted (Ctrl-C, SIGTERM) stops the servers it has running first.
import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { processTree } from "./proctree.js";

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** Servers started and not yet stopped. */
const running = new Set();
let stopOnSignal = false;
/** The signal that is ending the bench: no server starts after it. */
let ending = null;

/** On SIGINT/SIGTERM: stop every running server, then exit as the signal would. */
function stopAllOnSignal() {
  if (stopOnSignal) return;
  stopOnSignal = true;
  const handler = async (name) => {
    ending = name;
    process.stderr.write(`bench: ${name}: stopping ${running.size} running server(s)\n`);
    while (running.size > 0) await Promise.all([...running].map(stopPeer));
    process.exit(name === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}

/** process.kill that never throws (the process may be gone already). */
function signal(pid, name) {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** A port nobody listens on right now (the peer binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Whether something accepts a connection on 127.0.0.1:port (the probe closes at once). */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The Node that runs the servers (--node): the bench's own unless told. */
let serverNode = process.execPath;

/** Runs every later server on the Node binary at `path` (checked: it must answer --version). */
export function setServerNode(path) {
  const version = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
  serverNode = path;
  return version;
}

/**
 * Spawns the peer and resolves once it is ready: its stdout matches
 * peer.ready (a RegExp), or, with `ready: "port"` (a server that prints
 * nothing), its port accepts a connection. A peer with `group: true` runs in
 * its own process group, stopped as a group (its children outlive it
 * otherwise). The returned handle keeps the last output lines for error
 * messages.
 */
export async function startPeer(peer, { port, workers }) {
  if (ending !== null) throw new Error(`not starting ${peer.name}: the bench is ending (${ending})`);
  const { file, args, cwd, env } = peer.command({ port, workers, node: serverNode });
  const child = spawn(file, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: peer.group === true,
  });
  const server = { peer, port, child, pid: child.pid, output: [], exited: null, pids: [child.pid] };
  running.add(server);
  stopAllOnSignal();
  const keep = (chunk) => {
    server.output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    server.output.splice(0, Math.max(0, server.output.length - 40));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  server.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${peer.name} not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    let settled = false;
    const done = () => {
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    if (peer.ready === "port") {
      (async () => {
        while (!settled && !(await accepts(port))) await sleep(50);
        if (!settled) done();
      })();
    } else {
      let seen = "";
      child.stdout.on("data", (chunk) => {
        seen += chunk.toString("utf8");
        if (!settled && peer.ready.test(seen)) done();
      });
    }
    server.exited.then(({ code, signal }) => {
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${peer.name} exited before it was ready (${signal ?? `code ${code}`})`));
    });
  });
  try {
    await ready;
  } catch (error) {
    await stopPeer(server);
    error.message += `\n--- ${peer.name} output ---\n${server.output.join("\n")}`;
    throw error;
  }
  server.pids = processTree(server.pid);
  return server;
}

const alive = (pid) => signal(pid, 0);
/** Whether any process of the group led by `pgid` is alive. */
const groupAlive = (pgid) => signal(-pgid, 0);

/** SIGTERM to the peer's process group, SIGKILL to what is left of it after the timeout. */
async function stopGroup(server) {
  if (!signal(-server.pid, "SIGTERM")) return; // nobody left in the group
  for (let waited = 0; waited < STOP_TIMEOUT_MS && groupAlive(server.pid); waited += 100) await sleep(100);
  if (groupAlive(server.pid)) {
    process.stderr.write(`bench: ${server.peer.name} (process group ${server.pid}) did not stop in ${STOP_TIMEOUT_MS} ms; killing it\n`);
    signal(-server.pid, "SIGKILL");
  }
  await server.exited;
}

/**
 * SIGTERM to the master, which drains its workers (a `group` peer: to its
 * whole process group); SIGKILL to the master and the workers seen at
 * start if they outlive the timeout. Never throws.
 */
export async function stopPeer(server) {
  try {
    if (server.peer.group === true) {
      // Its children may outlive it, or be born after the tree was listed:
      // the group, whatever became of its leader.
      await stopGroup(server);
    } else {
      await stopTree(server);
    }
  } finally {
    running.delete(server);
  }
}

async function stopTree(server) {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    signal(server.pid, "SIGTERM");
    const done = await Promise.race([server.exited, sleep(STOP_TIMEOUT_MS, null, { ref: false })]);
    if (done === null) {
      process.stderr.write(`bench: ${server.peer.name} (pid ${server.pid}) did not stop in ${STOP_TIMEOUT_MS} ms; killing it\n`);
      for (const pid of server.pids) if (alive(pid)) signal(pid, "SIGKILL");
      await server.exited;
    }
  }
  // Workers leave right after their master; a worker still there after that is stuck.
  for (let i = 0; i < 20 && server.pids.some(alive); i++) await sleep(100);
  for (const pid of server.pids) {
    if (alive(pid)) {
      process.stderr.write(`bench: ${server.peer.name} process ${pid} outlived its master; killing it\n`);
      signal(pid, "SIGKILL");
    }
  }
}
