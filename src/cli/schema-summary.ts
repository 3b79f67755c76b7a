/**
 * A JSON Schema (as rpc.discover gives a method's params) in one short
 * TypeScript-like line for a table: `{name: string, language?: "en"|"fr"}`,
 * `number[]`, `string|null`. Nested objects past DEPTH levels show as
 * `{...}`; anything it cannot read shows as `any`. Pure.
 */

type Schema = Record<string, unknown>;

/** Objects nested deeper than this show as {...}. */
const DEPTH = 3;

export function schemaSummary(schema: unknown, depth = 0): string {
  if (schema === true || schema === undefined) return "any";
  if (schema === false) return "never";
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return "any";
  const s = schema as Schema;
  if ("const" in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join("|") || "never";
  for (const key of ["anyOf", "oneOf"] as const) {
    if (Array.isArray(s[key])) return union((s[key] as unknown[]).map((x) => schemaSummary(x, depth)));
  }
  if (Array.isArray(s.allOf)) return (s.allOf as unknown[]).map((x) => wrap(schemaSummary(x, depth))).join("&");
  if (typeof s.$ref === "string") return s.$ref.slice(s.$ref.lastIndexOf("/") + 1) || "any";
  const types = Array.isArray(s.type) ? (s.type as unknown[]) : s.type === undefined ? guessType(s) : [s.type];
  return union(types.map((t) => ofType(String(t), s, depth)));
}

function ofType(type: string, s: Schema, depth: number): string {
  switch (type) {
    case "object":
      return objectSummary(s, depth);
    case "array":
      return arraySummary(s, depth);
    case "string":
    case "number":
    case "integer":
    case "boolean":
    case "null":
      return type;
    default:
      return "any";
  }
}

function objectSummary(s: Schema, depth: number): string {
  const properties = isSchemaMap(s.properties) ? s.properties : {};
  const names = Object.keys(properties);
  const extra = s.additionalProperties;
  if (names.length === 0) {
    return extra !== undefined && extra !== false && extra !== true ? `Record<string, ${schemaSummary(extra, depth + 1)}>` : "object";
  }
  if (depth >= DEPTH) return "{...}";
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  const fields = names.map((name) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
    return `${key}${required.has(name) ? "" : "?"}: ${schemaSummary(properties[name], depth + 1)}`;
  });
  return `{${fields.join(", ")}}`;
}

function arraySummary(s: Schema, depth: number): string {
  if (Array.isArray(s.prefixItems)) {
    const items = (s.prefixItems as unknown[]).map((x) => schemaSummary(x, depth + 1));
    if (s.items !== undefined && s.items !== false) items.push(`...${wrap(schemaSummary(s.items, depth + 1))}[]`);
    return `[${items.join(", ")}]`;
  }
  return `${wrap(schemaSummary(s.items, depth + 1))}[]`;
}

/** A schema with no `type`: say what its keywords imply. */
function guessType(s: Schema): unknown[] {
  if (s.properties !== undefined || s.additionalProperties !== undefined) return ["object"];
  if (s.items !== undefined || s.prefixItems !== undefined) return ["array"];
  return ["any"];
}

function union(parts: string[]): string {
  const unique = [...new Set(parts)];
  return unique.includes("any") ? "any" : unique.join("|") || "never";
}

/** Parenthesizes a union or intersection before `[]` or `&`. */
function wrap(text: string): string {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[" || c === "(" || c === "<") depth++;
    else if (c === "}" || c === "]" || c === ")" || c === ">") depth--;
    else if (depth === 0 && (c === "|" || c === "&")) return `(${text})`;
  }
  return text;
}

function isSchemaMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
