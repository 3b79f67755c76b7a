/**
 * ctx.peer, and its tls: what the handshake of a TLS connection tells about the
 * client, read once per connection (a certificate is parsed only when the
 * client showed one).
 */
import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Peer, PeerCertificate, PeerTls } from "../request/context.ts";

export function peerOf(socket: Socket): Peer {
  const address = socket.remoteAddress ?? "";
  const port = socket.remotePort ?? 0;
  return (socket as TLSSocket).encrypted === true ? { address, port, tls: peerTls(socket as TLSSocket) } : { address, port };
}

export function peerTls(socket: TLSSocket): PeerTls {
  const x509 = socket.getPeerX509Certificate();
  const error = socket.authorizationError as Error | string | null | undefined;
  return {
    authorized: socket.authorized === true,
    authorizationError: error === null || error === undefined ? undefined : typeof error === "string" ? error : ((error as NodeJS.ErrnoException).code ?? error.message),
    protocol: socket.getProtocol(),
    resumed: socket.isSessionReused(),
    cert: x509 === undefined ? undefined : certificateOf(x509),
  };
}

export function certificateOf(x509: Pick<X509Certificate, "subject" | "subjectAltName" | "fingerprint256" | "validTo">): PeerCertificate {
  const sans = splitAltNames(x509.subjectAltName);
  return {
    cn: x509.subject.split("\n").find((line) => line.startsWith("CN="))?.slice(3),
    subject: x509.subject,
    uris: sans.filter((s) => s.startsWith("URI:")).map((s) => s.slice(4)),
    dnsNames: sans.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4)),
    fingerprint256: x509.fingerprint256,
    validTo: x509.validTo,
  };
}

/**
 * "DNS:a, URI:spiffe://x/y" -> ["DNS:a", "URI:spiffe://x/y"]. Node quotes a
 * name holding a comma or a quote as JSON ('URI:"a,b"'), so a comma inside
 * quotes does not split.
 */
export function splitAltNames(text: string | undefined): string[] {
  if (text === undefined || text === "") return [];
  const out: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "\\" && quoted) {
      current += ch + (text[i + 1] ?? "");
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === "," && !quoted) {
      out.push(current.trim());
      current = "";
    } else current += ch;
  }
  out.push(current.trim());
  return out.map(unquote);
}

/** 'URI:"a,b"' -> "URI:a,b" (the value part was JSON-quoted). */
function unquote(entry: string): string {
  const colon = entry.indexOf(":");
  const value = entry.slice(colon + 1);
  if (!value.startsWith('"')) return entry;
  try {
    return entry.slice(0, colon + 1) + (JSON.parse(value) as string);
  } catch {
    return entry;
  }
}
