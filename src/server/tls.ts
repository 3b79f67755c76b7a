/**
 * The server's TLS material: the files of config.tls read and checked once,
 * at boot and at each reload, so that a missing file, a file that is not
 * PEM, or a key that is not the certificate's stops the boot with a coded
 * error naming the file, instead of surfacing as a handshake failure later.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions, type TlsOptions } from "node:tls";
import type { ServerConfig } from "../config.ts";
import { BootError } from "../errors.ts";

export type TlsConfig = ServerConfig["tls"];

/** The PEM texts of config.tls, checked. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/** TLS is on when the config names a certificate or a key (both are then required). */
export function tlsEnabled(config: TlsConfig): boolean {
  return config.cert !== undefined || config.key !== undefined;
}

/**
 * Reads and checks config.tls's files. Throws TLS_FILE_UNREADABLE (missing,
 * unreadable) or TLS_INVALID (not PEM, key not the certificate's) naming
 * the file, or CONFIG_INVALID for a combination that cannot work.
 */
export function loadTlsMaterial(config: TlsConfig): TlsMaterial {
  if (config.cert === undefined || config.key === undefined) {
    throw new BootError("CONFIG_INVALID", `tls: give both tls.cert and tls.key (--tls-cert, --tls-key); only tls.${config.cert === undefined ? "key" : "cert"} is set`);
  }
  if (config.clientAuth !== "none" && config.ca === undefined) {
    throw new BootError("CONFIG_INVALID", `tls.clientAuth "${config.clientAuth}" needs tls.ca (--tls-ca): the CA client certificates are checked against`);
  }
  const cert = readPem(config.cert, "tls.cert");
  const key = readPem(config.key, "tls.key");
  const ca = config.ca === undefined ? undefined : readPem(config.ca, "tls.ca");
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (cause) {
    throw invalid(config.cert, "tls.cert", "is not a PEM certificate", cause);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (cause) {
    throw invalid(config.key, "tls.key", "is not a PEM private key (or it is encrypted)", cause);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new BootError("TLS_INVALID", `${config.key} (tls.key) is not the private key of the certificate in ${config.cert} (tls.cert)`);
  }
  if (ca !== undefined && config.ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (cause) {
      throw invalid(config.ca, "tls.ca", "is not a PEM certificate bundle", cause);
    }
  }
  // What parses may still be refused by OpenSSL (a 512-bit RSA key: "ee key too small"); found here, not as a throw in every worker at reload.
  try {
    createSecureContext(secureContextOptions({ cert, key, ca }, config));
  } catch (cause) {
    throw invalid(config.cert, "tls.cert", "is refused by OpenSSL with its key", cause);
  }
  return { cert, key, ca };
}

function readPem(path: string, name: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "error";
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "cannot be read by this user" : `cannot be read (${code})`;
    throw new BootError("TLS_FILE_UNREADABLE", `${path} (${name}) ${why}`, { cause });
  }
}

function invalid(path: string, name: string, what: string, cause: unknown): BootError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new BootError("TLS_INVALID", `${path} (${name}) ${what}${detail}`, { cause });
}

/**
 * Every worker must name sessions alike for a ticket made by one to resume
 * on another (Node's default hashes the command line, which a reload may change).
 */
const SESSION_ID_CONTEXT = "forkrpc";

/** The secure context's options (what setSecureContext takes on reload). */
export function secureContextOptions(material: TlsMaterial, config: TlsConfig): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    minVersion: config.minVersion,
    sessionIdContext: SESSION_ID_CONTEXT,
  };
}

/**
 * The tls.Server's options. The handshake must finish within the read
 * timeout: a client that connects and never finishes it holds a descriptor
 * and nothing else (Node's default allows 120 s).
 */
export function tlsServerOptions(material: TlsMaterial, config: TlsConfig, handshakeTimeoutMs: number): TlsOptions {
  return {
    ...secureContextOptions(material, config),
    requestCert: config.clientAuth !== "none",
    rejectUnauthorized: config.clientAuth === "require",
    handshakeTimeout: handshakeTimeoutMs,
  };
}
