import { defineConfig } from "forkrpc";

export default defineConfig({
  host: "127.0.0.1",
  port: 8080,
  plugins: ["plugins/**/*.{ts,js}"],
  limits: { maxFrameBytes: 1024 * 1024, readTimeoutMs: 10_000 },
  shutdown: { graceMs: 30_000 },
  // /metrics, /healthz, /readyz and the live dashboard (docs/observability.md); no auth: loopback only.
  admin: { host: "127.0.0.1", port: 9464 },
});
