// The command-line options every benchmark script shares: the grid cell and
// the rounds. Each script adds its own (peers, results file, ...).
import { parseArgs } from "node:util";

export const GRID_OPTIONS = {
  rounds: { type: "string", default: "2" },
  duration: { type: "string", default: "10" },
  warmup: { type: "string", default: "2" },
  connections: { type: "string", default: "32" },
  pipeline: { type: "string", default: "32" },
  workers: { type: "string", default: "2" },
  threads: { type: "string", default: "1" },
};

/**
 * Parses the shared options plus `extra`; `int(name)` reads one as a whole
 * number, `ints(name)` as a comma-separated list of them.
 */
export function benchArgs(extra) {
  const { values } = parseArgs({ options: { ...GRID_OPTIONS, ...extra } });
  const whole = (name, text) => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${text}"`);
    return n;
  };
  const int = (name) => whole(name, values[name]);
  const ints = (name) => values[name].split(",").map((text) => whole(name, text));
  return { values, int, ints };
}
