// The grid as an SVG chart with no dependencies: two panels (requests/s, and
// server CPU microseconds per request), one group of bars per cell, one bar
// per peer, on log scales (the peers differ by orders of magnitude).

const COLORS = ["#6b7280", "#2563eb", "#dc2626", "#d97706", "#059669", "#7c3aed"];
const BAR = 11;
const GAP = 18;
const LEFT = 70;
const PANEL_HEIGHT = 220;
const TOP = 50;

const escape = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Powers of ten covering [min, max]. */
function decades(min, max) {
  const low = Math.floor(Math.log10(min));
  const high = Math.ceil(Math.log10(max));
  return { low, high: high === low ? high + 1 : high };
}

const label = (value) => (value >= 1e6 ? `${value / 1e6}M` : value >= 1e3 ? `${value / 1e3}k` : String(value));

/** One panel: bars of `key` for every cell and peer, at vertical offset `top`. */
function panel({ grid, cells, peers, key, title, top, width }) {
  const values = grid.map((s) => s[key]).filter((v) => v > 0);
  if (values.length === 0) return "";
  const { low, high } = decades(Math.min(...values), Math.max(...values));
  const y = (v) => top + PANEL_HEIGHT - ((Math.log10(v) - low) / (high - low)) * PANEL_HEIGHT;
  const parts = [`<text x="${LEFT}" y="${top - 10}" class="title">${escape(title)}</text>`];
  for (let d = low; d <= high; d++) {
    const v = 10 ** d;
    parts.push(
      `<line x1="${LEFT}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`,
      `<text x="${LEFT - 6}" y="${y(v) + 4}" class="axis" text-anchor="end">${label(v)}</text>`,
    );
  }
  const groupWidth = peers.length * BAR + GAP;
  cells.forEach((cell, i) => {
    const x0 = LEFT + GAP / 2 + i * groupWidth;
    peers.forEach((peer, j) => {
      const s = grid.find((g) => g.cell === cell && g.peer === peer);
      if (s === undefined || !(s[key] > 0)) {
        // Not measured (the run failed): a cross on the axis, not a missing bar.
        const x = x0 + j * BAR + BAR / 2;
        parts.push(`<text x="${x}" y="${y(10 ** low) - 3}" class="axis" text-anchor="middle" fill="${COLORS[j % COLORS.length]}"><title>${escape(`${peer}, ${cell}: not measured`)}</title>x</text>`);
        return;
      }
      const top = y(s[key]);
      const tip = `${peer}, ${cell}: ${s[key].toLocaleString("en-US", { maximumFractionDigits: 2 })}`;
      parts.push(
        `<rect x="${x0 + j * BAR}" y="${top.toFixed(1)}" width="${BAR - 1}" height="${(y(10 ** low) - top).toFixed(1)}" fill="${COLORS[j % COLORS.length]}"><title>${escape(tip)}</title></rect>`,
      );
    });
  });
  return parts.join("\n");
}

/** The SVG document for the grid summaries (report.js's gridSummaries rows). */
export function gridChart(grid, peerNames) {
  const cells = [...new Set(grid.map((s) => s.cell))];
  const peers = peerNames.filter((p) => grid.some((s) => s.peer === p));
  const groupWidth = peers.length * BAR + GAP;
  const width = Math.max(LEFT + cells.length * groupWidth + 20, LEFT + peers.length * 150 + 20, 640);
  const secondTop = TOP + PANEL_HEIGHT + 80;
  const height = secondTop + PANEL_HEIGHT + 90;
  const cellLabels = cells.map((cell, i) => {
    const x = LEFT + GAP / 2 + i * groupWidth + (peers.length * BAR) / 2;
    const [shape, ...payload] = cell.split(" ");
    return `<text x="${x}" y="${secondTop + PANEL_HEIGHT + 16}" class="axis" text-anchor="middle">${escape(shape)}</text>` +
      `<text x="${x}" y="${secondTop + PANEL_HEIGHT + 30}" class="axis" text-anchor="middle">${escape(payload.join(" "))}</text>`;
  });
  const legend = peers.map(
    (peer, j) =>
      `<rect x="${LEFT + j * 150}" y="${height - 30}" width="12" height="12" fill="${COLORS[j % COLORS.length]}"/>` +
      `<text x="${LEFT + j * 150 + 18}" y="${height - 20}" class="axis">${escape(peer)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<style>.title{font-size:14px;font-weight:bold}.axis{font-size:11px;fill:#374151}.grid{stroke:#e5e7eb}</style>
<rect width="100%" height="100%" fill="white"/>
${panel({ grid, cells, peers, key: "rps", title: "requests/s (log scale; higher is better)", top: TOP, width })}
${panel({ grid, cells, peers, key: "server_cpu_us_per_req", title: "server CPU microseconds per request (log scale; lower is better)", top: secondTop, width })}
<text x="${LEFT}" y="${secondTop + PANEL_HEIGHT + 48}" class="axis">cells: connections x pipelined requests, payload</text>
${cellLabels.join("\n")}
${legend.join("\n")}
</svg>
`;
}
