/**
 * A validator for the subset of JSON Schema (draft 2020-12) that schemas/*.schema.json use: type,
 * properties, required, additionalProperties, items, minItems, enum, const, minimum, maximum,
 * pattern, oneOf, anyOf, and $ref to "#/…" or "<file>.json#/…" beside the schema. A keyword outside
 * that subset throws, so a schema cannot quietly rely on something this does not check.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Schema = Record<string, unknown> | boolean;

const ANNOTATIONS = new Set(["$schema", "$id", "title", "description", "$defs"]);
const KEYWORDS = new Set(["type", "properties", "required", "additionalProperties", "items", "minItems", "enum", "const", "minimum", "maximum", "pattern", "oneOf", "anyOf", "$ref"]);

export class SchemaValidator {
  private readonly dir: string;
  private readonly docs = new Map<string, Record<string, unknown>>();

  /** @param dir the folder of the schema files ($refs to other files resolve there) */
  constructor(dir: string) {
    this.dir = dir;
  }

  private doc(file: string): Record<string, unknown> {
    let d = this.docs.get(file);
    if (d === undefined) {
      d = JSON.parse(readFileSync(join(this.dir, file), "utf8")) as Record<string, unknown>;
      this.docs.set(file, d);
    }
    return d;
  }

  /** Errors of `value` against schema file `file` (an empty list: valid). */
  validate(file: string, value: unknown): string[] {
    const errors: string[] = [];
    this.check(file, this.doc(file), value, "$", errors);
    return errors;
  }

  private resolve(file: string, ref: string): { file: string; schema: Schema } {
    const [target, pointer] = ref.split("#");
    const f = target === "" ? file : target;
    let node: unknown = this.doc(f);
    for (const part of (pointer ?? "").split("/").filter((x) => x !== "")) node = (node as Record<string, unknown>)[part];
    if (node === undefined) throw new Error(`unresolved $ref ${ref} in ${file}`);
    return { file: f, schema: node as Schema };
  }

  private check(file: string, schema: Schema, v: unknown, at: string, errors: string[]): void {
    if (schema === true) return;
    if (schema === false) { errors.push(`${at}: not allowed`); return; }
    for (const k of Object.keys(schema)) if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw new Error(`schema keyword ${k} (at ${at}) is not in the validator's subset`);
    if (typeof schema.$ref === "string") {
      const r = this.resolve(file, schema.$ref);
      this.check(r.file, r.schema, v, at, errors);
    }
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
      if (!types.some((t) => typeOk(t, v))) { errors.push(`${at}: expected ${types.join(" or ")}, got ${JSON.stringify(v)?.slice(0, 60)}`); return; }
    }
    if (schema.const !== undefined && JSON.stringify(v) !== JSON.stringify(schema.const)) errors.push(`${at}: must be ${JSON.stringify(schema.const)}`);
    if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) errors.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(schema.enum)}`);
    if (typeof v === "number") {
      if (typeof schema.minimum === "number" && v < schema.minimum) errors.push(`${at}: ${v} < ${schema.minimum}`);
      if (typeof schema.maximum === "number" && v > schema.maximum) errors.push(`${at}: ${v} > ${schema.maximum}`);
    }
    if (typeof v === "string" && typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(v)) errors.push(`${at}: "${v}" does not match ${schema.pattern}`);
    if (Array.isArray(v)) {
      if (typeof schema.minItems === "number" && v.length < schema.minItems) errors.push(`${at}: fewer than ${schema.minItems} items`);
      if (schema.items !== undefined) v.forEach((x, i) => this.check(file, schema.items as Schema, x, `${at}[${i}]`, errors));
    }
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const r of (schema.required ?? []) as string[]) if (!(r in o)) errors.push(`${at}: missing ${r}`);
      for (const [k, x] of Object.entries(o)) {
        if (k in props) this.check(file, props[k], x, `${at}.${k}`, errors);
        else if (schema.additionalProperties !== undefined) this.check(file, schema.additionalProperties as Schema, x, `${at}.${k}`, errors);
      }
    }
    for (const [kw, all] of [["oneOf", true], ["anyOf", false]] as const) {
      const list = schema[kw] as Schema[] | undefined;
      if (list === undefined) continue;
      const ok = list.filter((s) => { const e: string[] = []; this.check(file, s, v, at, e); return e.length === 0; }).length;
      if (all ? ok !== 1 : ok === 0) {
        // Name the closest branch's errors, so a failure says what is wrong.
        const tries = list.map((s) => { const e: string[] = []; this.check(file, s, v, at, e); return e; }).sort((a, b) => a.length - b.length);
        errors.push(`${at}: ${kw} matched ${ok} of ${list.length} (closest: ${tries[0].slice(0, 3).join("; ")})`);
      }
    }
  }
}

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case "null": return v === null;
    case "boolean": return typeof v === "boolean";
    case "string": return typeof v === "string";
    case "number": return typeof v === "number" && Number.isFinite(v);
    case "integer": return typeof v === "number" && Number.isInteger(v);
    case "array": return Array.isArray(v);
    case "object": return typeof v === "object" && v !== null && !Array.isArray(v);
    default: throw new Error(`unknown type ${t}`);
  }
}
