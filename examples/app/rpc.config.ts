import { defineConfig, type MiddlewareFn } from "forkrpc";

/** Every answer says which worker gave it (a global middleware function). */
const servedBy: MiddlewareFn = async (ctx, next) => {
  await next();
  ctx.log.debug({ pid: process.pid }, "served");
};

export default defineConfig({
  port: 9000,
  plugins: ["plugins/**/*.{ts,js}"],
  middleware: [servedBy],
  auth: {
    // Tokens from the environment in production; these two for development.
    tokens: {
      [process.env.APP_WRITER_TOKEN ?? "dev-writer"]: { id: "writer", scopes: ["notes:write"] },
      [process.env.APP_READER_TOKEN ?? "dev-reader"]: { id: "reader", scopes: [] },
    },
  },
  deadline: { defaultTimeoutMs: 5_000 },
});
