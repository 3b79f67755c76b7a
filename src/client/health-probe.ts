/**
 * The health probe: every intervalMs, each endpoint with an open connection
 * is asked `rpc.health`; one that answers nothing at all (neither the probe
 * nor any call) within timeoutMs is taken for gone and its connections are
 * cut. This is what notices a host that vanishes without a reset (power
 * loss, a partition, a stopped process): TCP would only give up after
 * minutes of retransmissions. Worst case from the last answer to the cut:
 * intervalMs + timeoutMs (2 s by default).
 */
import { PendingCall } from "./call.ts";

/** An endpoint as the probe sees it. */
export interface Probed {
  readonly key: string;
  /** Answers received on its connections so far. */
  readonly answers: number;
  readonly pool: {
    readonly usable: boolean;
    pick(avoid: null): { send(call: PendingCall, now: number): void; forget(call: PendingCall): void } | null;
  };
}

/** What the probe concludes, for the endpoint set to act on. */
export interface ProbeVerdicts {
  /** It answered a probe sent at `sentAt` (performance.now()). */
  up(target: Probed, sentAt: number): void;
  /** Nothing came back within the deadline. */
  down(target: Probed, why: string): void;
}

export interface ProbeLimits {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** A probe's call: told apart from the caller's by its class, so its answer never reaches the client. */
export class ProbeCall extends PendingCall {
  readonly target: Probed;
  readonly answersAtSend: number;
  readonly sentAt = performance.now();
  deadlineTimer: NodeJS.Timeout | null = null;

  constructor(target: Probed, timeoutMs: number) {
    super("rpc.health", "null", undefined, timeoutMs, false, false);
    this.target = target;
    this.answersAtSend = target.answers;
    // Never rejected by us; a catch so that nothing is reported as unhandled if it is.
    this.promise.catch(() => {});
  }
}

export class HealthProbe {
  readonly #limits: ProbeLimits;
  readonly #targets: () => readonly Probed[];
  /** Endpoints with a probe in flight: one at a time each. */
  readonly #inFlight = new Map<Probed, ProbeCall>();
  readonly #verdicts: ProbeVerdicts;
  #interval: NodeJS.Timeout | null = null;

  constructor(limits: ProbeLimits, targets: () => readonly Probed[], verdicts: ProbeVerdicts) {
    this.#limits = limits;
    this.#targets = targets;
    this.#verdicts = verdicts;
  }

  start(): void {
    if (this.#interval !== null) return;
    this.#interval = setInterval(this.#tick, this.#limits.intervalMs);
    // The client's connections keep a process alive, not its probe.
    this.#interval.unref();
  }

  stop(): void {
    if (this.#interval !== null) clearInterval(this.#interval);
    this.#interval = null;
    for (const call of this.#inFlight.values()) this.#done(call);
  }

  /** The probe was answered (any answer, even an error: the host is there). */
  answered(call: ProbeCall): void {
    this.#done(call);
    this.#verdicts.up(call.target, call.sentAt);
  }

  /** The probe came back unsent or lost with its connection: no verdict, the next tick tries again. */
  dropped(call: ProbeCall): void {
    this.#done(call);
  }

  /** Probes one endpoint now (one that has just reconnected), unless a probe is in flight there. */
  probeNow(target: Probed): void {
    if (this.#interval === null || this.#inFlight.has(target) || !target.pool.usable) return;
    const conn = target.pool.pick(null);
    if (conn === null) return;
    const call = new ProbeCall(target, this.#limits.timeoutMs);
    this.#inFlight.set(target, call);
    call.deadlineTimer = setTimeout(this.#expire, this.#limits.timeoutMs, call);
    conn.send(call, performance.now());
  }

  readonly #tick = (): void => {
    for (const target of this.#targets()) this.probeNow(target);
  };

  readonly #expire = (call: ProbeCall): void => {
    call.deadlineTimer = null;
    if (this.#inFlight.get(call.target) !== call) return;
    const holder = call.holder;
    this.#done(call);
    holder?.forget(call);
    // Calls were answered meanwhile: the host is slow to answer the probe, not gone.
    if (call.target.answers > call.answersAtSend) return;
    this.#verdicts.down(call.target, `no answer to rpc.health within ${this.#limits.timeoutMs} ms: the host is taken for gone`);
  };

  #done(call: ProbeCall): void {
    if (call.deadlineTimer !== null) clearTimeout(call.deadlineTimer);
    call.deadlineTimer = null;
    call.settled = true;
    if (this.#inFlight.get(call.target) === call) this.#inFlight.delete(call.target);
  }
}
