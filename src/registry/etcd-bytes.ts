/**
 * The gateway's byte encoding: keys and values travel as base64, and a
 * prefix is a range [prefix, prefixEnd(prefix)).
 */

export function encode(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

export function decode(base64: string | undefined): string {
  return base64 === undefined ? "" : Buffer.from(base64, "base64").toString("utf8");
}

/**
 * The range_end that makes a range (or watch, or delete) cover every key
 * starting with `prefix`: the prefix with its last byte plus one, as etcdctl
 * --prefix does (bytes of 0xff are dropped first; all 0xff: "\0", every key).
 */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, "utf8");
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
