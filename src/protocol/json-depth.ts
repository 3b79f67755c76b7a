/**
 * V8's JSON.parse accepts any nesting depth, but everything that later walks
 * the value recursively (JSON.stringify, user code) overflows the stack near a
 * few thousand levels. The boundary refuses deeper bodies instead.
 *
 * Cheap on the common path: a body needs more than `max` opening brackets to
 * be too deep, and counting them is a handful of native indexOf calls; the
 * exact scan, which understands strings, runs only past that count.
 */
const OPEN_ARRAY = 0x5b; // [ (char codes: the scan reads the decoded text)
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

export function exceedsDepth(text: string, max: number): boolean {
  if (text.length <= max) return false;
  if (countUpTo(text, "[", max + 1) + countUpTo(text, "{", max + 1) <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

function countUpTo(text: string, char: string, limit: number): number {
  let n = 0;
  let at = text.indexOf(char);
  while (at !== -1 && n < limit) {
    n++;
    at = text.indexOf(char, at + 1);
  }
  return n;
}
