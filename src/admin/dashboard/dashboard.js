// The forkrpc dashboard: one EventSource on /events (a snapshot per
// heartbeat), rates computed here from two snapshots' totals, charts drawn
// with uPlot (served from its npm package). No build step, no CDN.
"use strict";

const KEEP = 300; // points: five minutes at one a second
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const history = []; // { t (s), rps: {slot: n}, p50, p99, errors: {code: n}, inflight, conns: {slot}, rss: {slot}, delay: {slot} }
const charts = {};
let previous = null;
const carried = new Map(); // slot -> its last requests/s, for snapshots with no new heartbeat of it
let events = [];
let source = null;

const $ = (id) => document.getElementById(id);

function rate(now, before, dt) {
  if (before === undefined || now < before || dt <= 0) return null; // a new slot, or a master restarted: no rate
  return (now - before) / dt;
}

// A worker's counters move only when its heartbeat comes, at its own phase:
// its rate is taken over heartbeat times (a rate over snapshot times would
// swing between 0 and twice the truth), and carried while no new one came.
function workerRates(snap) {
  const before = new Map((previous?.workers ?? []).map((w) => [w.slot, w]));
  const out = new Map();
  for (const w of snap.workers) {
    const b = before.get(w.slot);
    const seconds = b === undefined ? 0 : (w.beatAt - b.beatAt) / 1000;
    const r = b !== undefined && seconds > 0 && w.served >= b.served ? (w.served - b.served) / seconds : carried.get(w.slot);
    out.set(w.slot, r ?? null);
  }
  carried.clear();
  for (const [slot, r] of out) if (r !== null) carried.set(slot, r);
  return out;
}

function ingest(snap) {
  const t = snap.at / 1000;
  const point = { t, rps: {}, errors: {}, p50: snap.p50 === null ? null : snap.p50 * 1000, p99: snap.p99 === null ? null : snap.p99 * 1000, inflight: snap.inflight, conns: {}, rss: {}, delay: {} };
  const dt = previous === null ? 0 : t - previous.at / 1000;
  for (const w of snap.workers) {
    point.conns[w.slot] = w.connections;
    point.rss[w.slot] = w.rssBytes / 1048576;
    point.delay[w.slot] = w.loopDelayP99 * 1000;
  }
  for (const [slot, r] of workerRates(snap)) point.rps[slot] = r;
  for (const [code, n] of Object.entries(snap.codes)) {
    if (code !== "OK") point.errors[code] = previous === null ? null : rate(n, previous.codes[code] ?? 0, dt);
  }
  history.push(point);
  if (history.length > KEEP) history.shift();
  events = snap.events;
  renderTables(snap, dt, point.rps);
  previous = snap;
  drawAll();
}

function keysOf(field) {
  const keys = new Set();
  for (const p of history) for (const k of Object.keys(p[field])) keys.add(k);
  return [...keys].sort();
}

// Restarts (red) and reloads (blue) as vertical lines on every chart.
const markers = {
  hooks: {
    draw: [
      (u) => {
        const ctx = u.ctx;
        const [min, max] = [u.scales.x.min, u.scales.x.max];
        ctx.save();
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const e of events) {
          const x = e.at / 1000;
          if (x < min || x > max) continue;
          const px = u.valToPos(x, "x", true);
          ctx.strokeStyle = e.kind === "restart" ? "#d62728" : "#1f77b4";
          ctx.setLineDash(e.kind === "restart" ? [] : [6, 4]);
          ctx.beginPath();
          ctx.moveTo(px, u.bbox.top);
          ctx.lineTo(px, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    ],
  },
};

function draw(id, series) {
  const el = $(id);
  const key = series.map((s) => s.label).join("|");
  const data = [history.map((p) => p.t), ...series.map((s) => history.map(s.value))];
  let chart = charts[id];
  if (chart === undefined || chart.key !== key) {
    chart?.plot.destroy();
    const opts = {
      width: Math.max(el.clientWidth, 300),
      height: 200,
      scales: { x: { time: true } },
      axes: [{}, { size: 64 }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false }))],
      plugins: [markers],
      legend: { live: false },
    };
    chart = charts[id] = { key, plot: new uPlot(opts, data, el) };
  } else {
    chart.plot.setData(data);
  }
  el.dataset.points = String(history.length);
  el.dataset.markers = String(events.filter((e) => e.at / 1000 >= history[0].t).length);
  el.dataset.max = String(Math.max(0, ...data.slice(1).flat().filter((v) => typeof v === "number")));
}

function perSlot(field) {
  return keysOf(field).map((slot) => ({ label: `worker ${slot}`, value: (p) => p[field][slot] ?? null }));
}

function drawAll() {
  draw("chart-rps", perSlot("rps"));
  draw("chart-latency", [
    { label: "p50", value: (p) => p.p50 },
    { label: "p99", value: (p) => p.p99 },
  ]);
  draw("chart-errors", keysOf("errors").map((code) => ({ label: code, value: (p) => p.errors[code] ?? null })));
  draw("chart-load", [{ label: "in flight", value: (p) => p.inflight }, ...perSlot("conns").map((s) => ({ ...s, label: `conns ${s.label}` }))]);
  draw("chart-rss", perSlot("rss"));
  draw("chart-delay", perSlot("delay"));
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function fill(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells.map(cell));
      return tr;
    }),
  );
}

const fixed = (n, digits = 1) => (n === null || n === undefined || Number.isNaN(n) ? "" : n.toFixed(digits));

function renderTables(snap, dt, rps) {
  const before = previous;
  fill(
    "workers",
    snap.workers
      .slice()
      .sort((a, b) => a.slot - b.slot)
      .map((w) => [w.slot, w.pid, w.generation, w.state, fixed(rps[w.slot], 0), w.connections, fixed(w.rssBytes / 1048576), fixed(w.loopDelayP99 * 1000, 2)]),
  );
  const old = new Map((before?.methods ?? []).map((m) => [m.method, m]));
  fill(
    "methods",
    snap.methods.map((m) => {
      const o = old.get(m.method);
      return [m.method, fixed(o && rate(m.calls, o.calls, dt)), m.p99 === null ? "" : fixed(m.p99 * 1000, 3), fixed(o && rate(m.errors, o.errors, dt)), m.errors, m.calls];
    }),
  );
  fill("slowest", snap.slowest.map((q) => [q.method, q.id === null ? "" : String(q.id), q.worker, q.ms]));
  $("events").replaceChildren(
    ...snap.events
      .slice()
      .reverse()
      .map((e) => {
        const li = document.createElement("li");
        li.className = e.kind;
        li.textContent = `${new Date(e.at).toLocaleTimeString()} ${e.kind} ${e.label}: ${e.detail}`;
        return li;
      }),
  );
  const total = Object.values(snap.codes).reduce((a, b) => a + b, 0);
  $("summary").textContent = `${snap.workers.length} workers, ${total} calls answered, ${snap.inflight} in flight`;
}

function setStatus(live, text) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("live", live);
}

// EventSource reconnects by itself after a dropped stream (retry: 1000 from
// the server); one that gave up (the master was down when it retried) is
// replaced, so the page comes back when the master does.
function connect() {
  source = new EventSource("events");
  source.onopen = () => setStatus(true, "live");
  source.onmessage = (m) => {
    setStatus(true, "live");
    ingest(JSON.parse(m.data));
  };
  source.onerror = () => {
    setStatus(false, "reconnecting");
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  };
}

window.forkrpcDashboard = {
  points: () => history.length,
  events: () => events.slice(),
  chart: (id) => ({ ...$(id).dataset }),
};
addEventListener("resize", () => {
  for (const [id, c] of Object.entries(charts)) c.plot.setSize({ width: Math.max($(id).clientWidth, 300), height: 200 });
});
connect();
