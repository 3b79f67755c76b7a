/**
 * Tells a service manager how the server is doing, systemd's sd_notify
 * protocol: when NOTIFY_SOCKET is set, datagrams such as "READY=1" go to
 * that AF_UNIX socket (a path, or "@name" for the abstract namespace).
 *
 * Node has no AF_UNIX datagram sockets (dgram is UDP only; nodejs/node
 * #29339, #61933), so the datagram is sent by `systemd-notify`, which ships
 * with systemd itself: wherever NOTIFY_SOCKET is set by systemd, it is
 * there, and no npm package or compiler is needed (a native addon would
 * need both, on every install, for one datagram). The message then comes
 * from a child process, so the unit needs NotifyAccess=all
 * (docs/operations.md). Messages are sent one after another, in order.
 */
import { spawn } from "node:child_process";
import { log } from "../log.ts";
import type { MasterObserver } from "./observers.ts";

export class ServiceNotifier {
  readonly #socket: string | undefined;
  readonly #command: string;
  #queue: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(socket: string | undefined = process.env.NOTIFY_SOCKET, command = "systemd-notify") {
    this.#socket = socket === "" ? undefined : socket;
    this.#command = command;
  }

  /** Whether a service manager listens (NOTIFY_SOCKET is set). */
  get enabled(): boolean {
    return this.#socket !== undefined;
  }

  /** Sends `fields` ("READY=1", "STATUS=...") as one message; resolves once sent or given up. */
  notify(...fields: string[]): Promise<void> {
    if (this.#socket === undefined || this.#failed) return this.#queue;
    this.#queue = this.#queue.then(() => this.#send(fields));
    return this.#queue;
  }

  #send(fields: string[]): Promise<void> {
    return new Promise((resolve) => {
      const child = spawn(this.#command, fields, {
        env: { ...process.env, NOTIFY_SOCKET: this.#socket },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", (error) => {
        // Not installed: say it once, then stop trying.
        this.#failed = true;
        log.warn(`NOTIFY_SOCKET is set but ${this.#command} could not be run (${error.message}): the service manager is not told ${fields.join(" ")}`);
        resolve();
      });
      child.on("close", (code) => {
        if (code !== 0 && code !== null) log.warn(`${this.#command} ${fields.join(" ")} failed (exit ${code}): ${stderr.trim()}`);
        resolve();
      });
    });
  }
}

/** The master's notifier: one per process. */
export const serviceManager = new ServiceNotifier();

/**
 * The master's state changes as systemd hears them (the first READY=1 is
 * the CLI's, with the ready line): RELOADING=1 when a reload starts, READY=1
 * when it completes or is abandoned (the old generation serves on either
 * way), STOPPING=1 when the master stops.
 */
export function serviceManagerObserver(notifier: Pick<ServiceNotifier, "notify">): MasterObserver {
  return {
    reload: (generation, outcome, detail) => {
      if (outcome === "started") void notifier.notify("RELOADING=1", `STATUS=reloading (${detail})`);
      else if (outcome === "complete") void notifier.notify("READY=1", `STATUS=serving, generation ${generation}`);
      else void notifier.notify("READY=1", `STATUS=serving; reload abandoned: ${detail}`);
    },
    phase: (phase, reason) => {
      if (phase === "stopping") void notifier.notify("STOPPING=1", `STATUS=stopping (${reason})`);
    },
  };
}
