/**
 * Several servers behind one client: a connection pool per endpoint, and a
 * pick per call among the endpoints that can take it (serving, with an open
 * connection) by power of two choices on calls outstanding. An endpoint
 * whose connections fail, reset or get a goaway has none usable until its
 * pool reconnects (with the pool's backoff), so it is left out meanwhile; a
 * host that goes silent is cut by the health probe. The list can change
 * (discovery): new endpoints open at once, removed ones finish their calls.
 */
import { pickOfTwo, endpointKey } from "./balancer.ts";
import type { CallHolder, PendingCall } from "./call.ts";
import type { ClientConnection } from "./connection.ts";
import { HealthProbe, ProbeCall, type ProbeVerdicts } from "./health-probe.ts";
import type { ResolvedOptions } from "./options.ts";
import { ConnectionPool, type CallRouter, type PoolEvents, type PoolStats } from "./pool.ts";

/** One server as the registry (or the static list) describes it. */
export interface EndpointInfo {
  readonly host: string;
  readonly port: number;
  /** false: draining, it gets no new calls (those it has are answered). Default true. */
  readonly serving?: boolean;
  /** Which registered instances are at this address; a change means a server (re)started there. */
  readonly instances?: string;
}

/** Where the list comes from when it changes over time (discovery): started with the set, stopped with it. */
export interface EndpointSource {
  start(update: (list: EndpointInfo[]) => void): void;
  stop(): void;
  /** Why the list could not be read last ("" when it could). */
  readonly lastError: string;
}

/** What the client knows of one endpoint now (ClientStats.endpoints). */
export interface EndpointStats {
  readonly endpoint: string;
  readonly serving: boolean;
  /** It can take a call now: serving, connected, and not found silent by the probe since. */
  readonly available: boolean;
  readonly outstanding: number;
  /** Calls sent to it so far (retries included). */
  readonly sent: number;
}

export class Endpoint {
  readonly key: string;
  readonly pool: ConnectionPool;
  serving = true;
  instances: string | undefined = undefined;
  sent = 0;
  /**
   * A connection of it got a goaway or closed, or the probe found it silent:
   * it takes no call until a probe on a connection is answered. A connect
   * alone proves nothing: a stopping server's kernel completes handshakes
   * into the backlog of a listener about to close (then resets them, with
   * any call written on them), and a stopped process's kernel accepts too.
   * Without a probe (health: false) this stays false.
   */
  suspect = false;
  /** performance.now() when it last became suspect: only a probe sent since clears it. */
  suspectAt = 0;
  /** Answers received, so a late probe answer is not taken for a dead host while calls are being answered. */
  answers = 0;

  constructor(key: string, pool: ConnectionPool) {
    this.key = key;
    this.pool = pool;
  }

  get outstanding(): number {
    return this.pool.outstanding;
  }
}

export class EndpointSet implements CallRouter {
  readonly #options: ResolvedOptions;
  readonly #events: PoolEvents;
  readonly #byKey = new Map<string, Endpoint>();
  #list: Endpoint[] = [];
  /** Reused by every pick: the endpoints that can take a call now. */
  readonly #scratch: Endpoint[] = [];
  readonly #leaving = new Set<Promise<void>>();
  readonly #probe: HealthProbe | null;
  readonly #random: () => number;
  #started = false;
  #stopped = false;

  readonly #source: EndpointSource | null;

  constructor(options: ResolvedOptions, events: PoolEvents, source: EndpointSource | null = null, random: () => number = Math.random) {
    this.#options = options;
    this.#source = source;
    this.#events = events;
    this.#random = random;
    this.#probe = options.health === null ? null : new HealthProbe(options.health, () => this.#list, this.#verdicts);
  }

  /** Replaces the list: endpoints not in it finish what they have and close; new ones open (once started). */
  update(list: readonly EndpointInfo[]): void {
    if (this.#stopped) return;
    const keep = new Set<string>();
    for (const info of list) {
      const key = endpointKey(info.host, info.port);
      keep.add(key);
      let endpoint = this.#byKey.get(key);
      if (endpoint === undefined) {
        endpoint = this.#add(key, info);
        if (this.#started) endpoint.pool.start();
      }
      endpoint.serving = info.serving !== false;
      // A new instance at a known address: a server started there, so waiting out a backoff from its predecessor is pointless.
      if (info.instances !== endpoint.instances) {
        if (endpoint.instances !== undefined && !endpoint.pool.usable) endpoint.pool.reconnectNow();
        endpoint.instances = info.instances;
      }
    }
    for (const [key, endpoint] of this.#byKey) {
      if (keep.has(key)) continue;
      this.#byKey.delete(key);
      const closed = endpoint.pool.close();
      this.#leaving.add(closed);
      void closed.then(() => this.#leaving.delete(closed));
    }
    this.#list = [...this.#byKey.values()];
    // A serving endpoint with an open connection may have appeared: waiting calls can go.
    this.#events.ready();
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    for (const endpoint of this.#list) endpoint.pool.start();
    this.#probe?.start();
    this.#source?.start((list) => this.update(list));
  }

  /** A usable connection of the less loaded of two random serving endpoints, preferring any other over avoid's. */
  pick(avoid: CallHolder | null): ClientConnection | null {
    const avoidKey = avoid === null ? null : (avoid as ClientConnection).endpoint;
    const scratch = this.#scratch;
    let count = 0;
    let fallback: Endpoint | null = null;
    for (const endpoint of this.#list) {
      if (!endpoint.serving || endpoint.suspect || !endpoint.pool.usable) continue;
      if (endpoint.key === avoidKey) fallback = endpoint;
      else scratch[count++] = endpoint;
    }
    const chosen = pickOfTwo(scratch, count, this.#random) ?? fallback;
    scratch.length = 0;
    if (chosen === null) return null;
    chosen.sent++;
    return chosen.pool.pick(avoid);
  }

  get lastError(): string {
    if (this.#list.length === 0) return this.#source === null || this.#source.lastError === "" ? "no endpoints known" : this.#source.lastError;
    const errors = this.#list.filter((e) => !e.pool.usable && e.pool.lastError !== "").map((e) => `${e.key}: ${e.pool.lastError}`);
    return errors.join("; ");
  }

  get stats(): PoolStats {
    let open = 0;
    let opened = 0;
    let goaways = 0;
    for (const endpoint of this.#list) {
      const s = endpoint.pool.stats;
      open += s.open;
      opened += s.opened;
      goaways += s.goaways;
    }
    return { open, opened, goaways };
  }

  endpoints(): EndpointStats[] {
    return this.#list.map((e) => ({
      endpoint: e.key,
      serving: e.serving,
      available: e.serving && !e.suspect && e.pool.usable,
      outstanding: e.outstanding,
      sent: e.sent,
    }));
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#probe?.stop();
    this.#source?.stop();
    await Promise.all([...this.#list.map((e) => e.pool.close()), ...this.#leaving]);
  }

  destroy(): void {
    this.#stopped = true;
    this.#probe?.stop();
    this.#source?.stop();
    for (const endpoint of this.#list) endpoint.pool.destroy();
  }

  readonly #verdicts: ProbeVerdicts = {
    up: (target, sentAt) => {
      const endpoint = target as Endpoint;
      if (!endpoint.suspect) return;
      // An answer to a probe sent before the trouble, on an old connection: ask again on the new one.
      if (sentAt < endpoint.suspectAt) return this.#probe?.probeNow(endpoint);
      endpoint.suspect = false;
      this.#events.ready();
    },
    down: (target, why) => {
      const endpoint = target as Endpoint;
      this.#suspect(endpoint);
      endpoint.pool.reset(why);
    },
  };

  #suspect(endpoint: Endpoint): void {
    endpoint.suspect = true;
    endpoint.suspectAt = performance.now();
  }

  #add(key: string, info: EndpointInfo): Endpoint {
    const options = { ...this.#options, host: info.host, port: info.port };
    let endpoint: Endpoint | null = null;
    const events = this.#events;
    const probe = this.#probe;
    // The pool's events pass through to the client, minus the probe's own calls.
    const pool = new ConnectionPool(options, {
      ready: () => {
        const e = endpoint as Endpoint;
        // A suspect endpoint is probed as soon as it has a connection again, not at the next interval.
        if (e.suspect) probe?.probeNow(e);
        else events.ready();
      },
      gone: () => {
        if (probe !== null) this.#suspect(endpoint as Endpoint);
      },
      answered: (call, response, from) => {
        (endpoint as Endpoint).answers++;
        if (call instanceof ProbeCall) probe?.answered(call);
        else events.answered(call, response, from);
      },
      unsent: (calls) => events.unsent(this.#withoutProbes(calls)),
      lost: (calls, why, from) => events.lost(this.#withoutProbes(calls), why, from),
    });
    endpoint = new Endpoint(key, pool);
    this.#byKey.set(key, endpoint);
    return endpoint;
  }

  /** The probe's calls among those a connection gave back are dropped (no verdict); the rest go to the client. */
  #withoutProbes(calls: PendingCall[]): PendingCall[] {
    const rest: PendingCall[] = [];
    for (const call of calls) {
      if (call instanceof ProbeCall) this.#probe?.dropped(call);
      else rest.push(call);
    }
    return rest;
  }
}
