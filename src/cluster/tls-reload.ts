/**
 * Certificate reload on file change, in the master: it reads the new files
 * once, refuses bad ones with one log line (the workers keep the
 * certificate they have), and tells every worker to take good ones. The
 * master reads PEM files, never a frame. (SIGHUP needs none of this: the
 * new generation reads the files as it boots, and a generation whose files
 * are bad fails to boot while the old one keeps serving.)
 */
import type { ServerConfig } from "../config.ts";
import { log } from "../log.ts";
import { loadTlsMaterial, tlsEnabled } from "../server/tls.ts";
import { watchTlsFiles } from "../server/tls-watch.ts";
import type { TlsReloadMessage } from "./ipc.ts";

/** Reads and checks config.tls's files (when TLS is on): throws their BootError, before any worker is forked. */
export function checkCertificates(config: ServerConfig): void {
  if (tlsEnabled(config.tls)) loadTlsMaterial(config.tls);
}

/** Watches config.tls's files (when TLS is on); returns the stop, or null. */
export function watchCertificates(config: ServerConfig, broadcast: (msg: TlsReloadMessage) => void): (() => void) | null {
  if (!tlsEnabled(config.tls)) return null;
  return watchTlsFiles(config.tls, (file) => {
    try {
      loadTlsMaterial(config.tls);
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      log.error(`tls: ${file} changed: new certificate refused, the workers keep the current one: ${code ?? "error"}: ${message ?? String(error)}`);
      return;
    }
    log.info(`tls: ${file} changed: workers take the new certificate for new handshakes`);
    broadcast({ act: "forkrpc:tls-reload", file });
  });
}
