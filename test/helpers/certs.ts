/**
 * Certificates made at test time with the openssl command (guard the tests
 * with missingTools("openssl")), in a temp folder removed by cleanup(). EC
 * P-256 keys: each takes a few milliseconds to make.
 *
 * - ca: the test CA; server: CN=localhost, DNS:localhost and IP:127.0.0.1;
 * - client: CN=client-a with the URI SAN spiffe://forkrpc.test/client-a;
 * - plainClient: CN=client-b, no SAN; expiredClient: valid in 2020 only;
 * - otherCa and otherClient: a CA the server does not trust, and its client.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  readonly dir: string;
  readonly ca: Pair;
  readonly server: Pair;
  readonly client: Pair;
  readonly plainClient: Pair;
  readonly expiredClient: Pair;
  readonly otherCa: Pair;
  readonly otherClient: Pair;
  /** Reads a file of the set (PEM text). */
  read(path: string): string;
  /** A new server certificate for localhost from the test CA (for reload tests). */
  newServer(name: string): Pair;
  cleanup(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 20_000 });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function makeCa(dir: string, name: string): Pair {
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  openssl(dir, "req", "-x509", ...EC, "-keyout", pair.key, "-out", pair.cert, "-days", "2", "-subj", `/CN=${name}`);
  return pair;
}

/** A certificate signed by `ca`, with subjectAltName `san` (or none). */
function issue(dir: string, ca: Pair, name: string, cn: string, san: string | null): Pair {
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  openssl(dir, "req", ...EC, "-keyout", pair.key, "-out", csr, "-subj", `/CN=${cn}`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `basicConstraints=CA:FALSE\n${san === null ? "" : `subjectAltName=${san}\n`}`);
  openssl(dir, "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial", String(Date.now() % 1e9), "-out", pair.cert, "-days", "2", "-extfile", ext);
  return pair;
}

/** `openssl x509` cannot backdate; `openssl ca` can, given a minimal database. */
function issueExpired(dir: string, ca: Pair, name: string, cn: string): Pair {
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  openssl(dir, "req", ...EC, "-keyout", pair.key, "-out", csr, "-subj", `/CN=${cn}`);
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  const conf = join(dir, "ca.cnf");
  writeFileSync(
    conf,
    `[ca]\ndefault_ca=d\n[d]\ndatabase=${dir}/index.txt\nnew_certs_dir=${dir}\nserial=${dir}/serial\ndefault_md=sha256\n` +
      `certificate=${ca.cert}\nprivate_key=${ca.key}\npolicy=p\n[p]\ncommonName=supplied\n`,
  );
  openssl(dir, "ca", "-config", conf, "-batch", "-notext", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-in", csr, "-out", pair.cert);
  return pair;
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "forkrpc-tls-"));
  try {
    const ca = makeCa(dir, "ca");
    const otherCa = makeCa(dir, "other-ca");
    return {
      dir,
      ca,
      otherCa,
      server: issue(dir, ca, "server", "localhost", "DNS:localhost,IP:127.0.0.1"),
      client: issue(dir, ca, "client", "client-a", "URI:spiffe://forkrpc.test/client-a,DNS:client-a.test"),
      plainClient: issue(dir, ca, "plain-client", "client-b", null),
      expiredClient: issueExpired(dir, ca, "expired-client", "client-old"),
      otherClient: issue(dir, otherCa, "other-client", "client-a", "URI:spiffe://forkrpc.test/client-a"),
      read: (path) => readFileSync(path, "utf8"),
      newServer: (name) => issue(dir, ca, name, "localhost", "DNS:localhost,IP:127.0.0.1"),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
