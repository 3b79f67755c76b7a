// `node --import forkrpc/register app.ts`: what a process needs before any
// TypeScript plugin or decorator runs. reflect-metadata first (decorators
// record their metadata through it), then the TypeScript loader, then
// source maps so stack traces point at the .ts lines.
import "reflect-metadata";
import { register } from "node:module";

register("./hooks.js", import.meta.url);
process.setSourceMapsEnabled(true);
