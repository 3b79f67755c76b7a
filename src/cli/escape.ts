/**
 * Strings a server supplies (method names, descriptions, error messages and
 * codes) are printed by the CLI; a hostile server could put terminal
 * escapes in them (ESC ] 0 ; title BEL, ESC [ 2 J, C1 controls such as
 * U+009B, which some terminals read as ESC [). Every such string goes
 * through here before it reaches a terminal.
 */

/**
 * C0 controls (a server string needs none of them, not even newline, for our
 * layout), DEL, C1 controls, the Unicode line and paragraph separators, and
 * the bidirectional overrides and isolates that can reorder what a line shows.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same less C0, which JSON.stringify escapes itself (and whose newlines and spaces lay out indented JSON). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The string with every control character shown as an escape: "\x1b", "\n", "\u009b". */
export function visible(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Any value a server sent, as one printable line: strings escaped, anything else as JSON. */
export function visibleValue(value: unknown): string {
  if (typeof value === "string") return visible(value);
  return visible(safeJson(value) ?? String(value));
}

/**
 * JSON.stringify, with DEL, the C1 controls and the characters above written
 * as \u00XX too (JSON.stringify escapes only C0): still valid JSON, and no
 * raw control character reaches the terminal.
 */
export function safeJson(value: unknown, indent?: number): string | undefined {
  const text = JSON.stringify(value, null, indent);
  // Outside strings JSON has no such characters, so every match is inside one.
  return text?.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
