// Hostile inputs for property-based tests (fast-check): values derived from the official OpenAPI schemas in
// specs/ofb/, then mutated (a field dropped, retyped or replaced by a hostile string, prototype keys, deep nesting),
// and the hostile strings, path tricks and header variants a fuzzing run mixes in.
import fc from 'fast-check'
import { specValidator } from './openapi.ts'

type Json = Record<string, unknown>

/**
 * Inputs per surface in one run: `PONTE_FUZZ_RUNS` when set (the deeper `make fuzz` run sets it), else `fallback`
 * (what `make test` affords: seconds per surface).
 */
export function fuzzRuns(fallback: number): number {
  const n = Number(process.env.PONTE_FUZZ_RUNS)
  return Number.isInteger(n) && n > 0 ? n : fallback
}

/** The seed of a run: `PONTE_FUZZ_SEED` to replay a failure (fast-check prints the seed and path it failed with). */
export function fuzzSeed(): number | undefined {
  const n = Number(process.env.PONTE_FUZZ_SEED)
  return Number.isInteger(n) ? n : undefined
}

/** Strings that have broken parsers, queries, templates, logs and path handling somewhere. */
export const HOSTILE_STRINGS: readonly string[] = [
  "' OR '1'='1' --", '"; DROP TABLE consents; --', '1; SELECT pg_sleep(10)', '$where', '{"$gt":""}',
  '${jndi:ldap://127.0.0.1:1/a}', '{{7*7}}', '<%= 7*7 %>', '#{7*7}', '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
  '../../../../etc/passwd', '..\\..\\..\\windows\\win.ini', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', 'file:///etc/passwd',
  'http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:6379/', '\u0000', 'a\u0000b', '\r\nX-Injected: 1', '\n\n\n',
  '\uD800', '\uDFFF\uD800', '\u202Eevil\u202C', '\u200B\u200C\u200D\uFEFF', 'Ａｄｍｉｎ', 'ǅ', 'ß', 'İ', '\u0130\u0131',
  '🏦💸'.repeat(50), 'é'.normalize('NFD'), '\u{10FFFF}', '\u001B[31mred', '%s%s%s%n', '%00', '%', '\\', '"', "'",
  '-1', '0', '-0', '1e309', 'NaN', 'Infinity', '9007199254740993', '0x7fffffff', 'true', 'null', 'undefined', '[]', '{}',
  '__proto__', 'constructor', 'prototype', ' ', '', 'A'.repeat(10_000), 'urn:ponte:'.repeat(100),
]

/** Values of every JSON type that a schema does not expect. */
const strangeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.1 + 0.2, [], {}, [null], { '': '' }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.integer(),
  fc.double(),
)

/** A hostile string, or arbitrary binary/grapheme text. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
)

/** A value nested `depth` levels deep (arrays or objects), as attackers send to exhaust recursive code. */
export function deepNesting(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

const MAX_DEPTH = 6

/** An arbitrary of values valid for `schema` (a node of the spec `doc`, `$ref`s resolved), bounded in size. */
export function arbitraryFromSchema(doc: Json, schema: Json, depth = 0): fc.Arbitrary<unknown> {
  if (typeof schema.$ref === 'string') return arbitraryFromSchema(doc, resolveRef(doc, schema.$ref), depth)
  if (depth > MAX_DEPTH) return fc.constant(null)
  if (Array.isArray(schema.allOf)) {
    const parts = (schema.allOf as Json[]).map((s) => arbitraryFromSchema(doc, s, depth + 1))
    return fc.tuple(...parts).map((values) => values.reduce<unknown>((acc, v) => (isObject(acc) && isObject(v) ? { ...acc, ...v } : v), {}))
  }
  const alternatives = (schema.oneOf ?? schema.anyOf) as Json[] | undefined
  if (Array.isArray(alternatives) && alternatives.length) return fc.oneof(...alternatives.map((s) => arbitraryFromSchema(doc, s, depth + 1)))
  if (Array.isArray(schema.enum) && schema.enum.length) return fc.constantFrom(...(schema.enum as unknown[]))
  const type = Array.isArray(schema.type) ? (schema.type as string[])[0] : schema.type as string | undefined
  if (type === 'object' || (!type && isObject(schema.properties))) {
    const properties = (schema.properties ?? {}) as Record<string, Json>
    const required = new Set((schema.required ?? []) as string[])
    const record: Record<string, fc.Arbitrary<unknown>> = {}
    for (const [key, sub] of Object.entries(properties)) record[key] = arbitraryFromSchema(doc, sub, depth + 1)
    return fc.record(record, { requiredKeys: Object.keys(properties).filter((k) => required.has(k)) })
  }
  if (type === 'array') {
    const min = Number(schema.minItems ?? 0)
    return fc.array(arbitraryFromSchema(doc, (schema.items ?? {}) as Json, depth + 1), { minLength: min, maxLength: Math.max(min, Math.min(Number(schema.maxItems ?? 3), 3)) })
  }
  if (type === 'integer' || type === 'number') {
    const min = typeof schema.minimum === 'number' ? schema.minimum : 0
    const max = typeof schema.maximum === 'number' ? schema.maximum : min + 1_000_000
    return type === 'integer' ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
  }
  if (type === 'boolean') return fc.boolean()
  return stringFromSchema(schema)
}

function stringFromSchema(schema: Json): fc.Arbitrary<string> {
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : 40
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0
  switch (schema.format) {
    case 'date-time': return fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }).map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z'))
    case 'date': return fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
    case 'uri': case 'url': return fc.webUrl()
    case 'email': return fc.emailAddress()
    case 'uuid': return fc.uuid()
    default: break
  }
  if (typeof schema.pattern === 'string') {
    try {
      const pattern = new RegExp(schema.pattern)
      // Cut to the schema's length rather than filtered (a filter that rarely passes would spin); a cut value may
      // break the pattern, which a fuzzing input may.
      return fc.stringMatching(pattern).map((s) => s.slice(0, Math.max(maxLength, minLength, 1)))
    } catch { /* a pattern JavaScript does not read: fall through to plain text */ }
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength, 40)) })
}

/** Every path (list of keys) to a node of `value`, the root included. */
function pathsOf(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix)
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out))
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out)
  return out
}

/** `value` with the node at `path` replaced by `replace(old)` (or removed when it returns the `REMOVE` marker). */
function edit(value: unknown, path: Array<string | number>, replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(value)
  const [head, ...rest] = path
  if (Array.isArray(value)) {
    const copy = [...value]
    const next = edit(copy[head as number], rest, replace)
    if (next === REMOVE) copy.splice(head as number, 1)
    else copy[head as number] = next
    return copy
  }
  if (isObject(value)) {
    const copy: Json = { ...value }
    const next = edit(copy[head as string], rest, replace)
    if (next === REMOVE) delete copy[head as string]
    else Object.defineProperty(copy, head as string, { value: next, enumerable: true, writable: true, configurable: true })
    return copy
  }
  return value
}
const REMOVE = Symbol('remove')

/**
 * Mutations of a valid value: one node removed, retyped, replaced by a hostile string or a huge one, prototype keys
 * added, the whole thing wrapped or replaced. The result may occasionally still be valid; callers accept 2xx then.
 */
export function mutate(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return valid.chain((value) => {
    const paths = pathsOf(value)
    const at = fc.constantFrom(...paths)
    const inner = paths.filter((p) => p.length > 0)
    return fc.oneof(
      fc.tuple(at, strangeValue).map(([p, v]) => edit(value, p, () => v)),
      fc.tuple(at, hostileString).map(([p, s]) => edit(value, p, () => s)),
      // A node removed (the root has none to remove: a constant then, never a filter that cannot succeed).
      inner.length ? fc.constantFrom(...inner).map((p) => edit(value, p, () => REMOVE)) : fc.constant(value),
      fc.tuple(at, fc.nat({ max: 200_000 })).map(([p, n]) => edit(value, p, () => 'x'.repeat(n))),
      fc.tuple(at, fc.constantFrom('__proto__', 'constructor', 'prototype', 'status', 'consentId', 'client_id', 'isAdmin', 'roles')).map(([p, key]) =>
        edit(value, p, (old) => isObject(old) ? Object.defineProperty({ ...old }, key, { value: key === '__proto__' ? { polluted: true } : 'INJECTED', enumerable: true }) : old)),
      fc.constantFrom([value], { data: value }, { data: { data: value } }, null, [], 'string'),
    )
  })
}

/** A JSON body text: a mutated schema value, or text that is not JSON at all or is hostile JSON. */
export function hostileJsonBody(valid: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: mutate(valid).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: valid.map((v) => JSON.stringify(v)).chain((s) => fc.nat({ max: Math.max(s.length - 1, 0) }).map((n) => s.slice(0, n))) },
    { weight: 1, arbitrary: fc.constantFrom(deepNesting(100_000, 'array'), deepNesting(20_000, 'object'), deepNesting(10_000, 'array')) },
    { weight: 1, arbitrary: fc.constantFrom('\uFEFF{}', '{"a":1,"a":2}', '{"data":{}}garbage', 'nul', '[1,2,', '{"__proto__":{"polluted":true}}', '"\\ud800"', '1e99999', '\u0000') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  )
}

/** Content types a client may send instead of the right one. */
export const wrongContentTypes: readonly string[] = [
  'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16',
  'application/jwt', 'application/json', '*/*', 'application/json\u0000', 'application/vnd.evil+json', '',
]

/** Path tricks appended to a known prefix: traversal, encodings, separators, oversized and unicode segments. */
export const pathTricks: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '/..', '/../..', '/%2e%2e/%2e%2e', '/..%2f..%2f..%2fetc%2fpasswd', '/%252e%252e%252f', '//', '/./', '/;a=b', '/%00', '/%0d%0aX: y',
    '/%C0%AE%C0%AE/', '/%E0%A4%A', '/%', '/%ff', '/\u202E', '/%F0%9F%8F%A6', '?%', '?a=%', '?page=-1&page-size=0', '?page-size=99999999999',
    '?page=1&page=2&page=3', '?__proto__[a]=1', '?constructor[prototype][a]=1', '#frag', '/*', '/~root', '/.env', '/.git/config',
  ),
  hostileString.map((s) => `/${percentEncode(s)}`),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `/${percentEncode(s)}`),
)

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD), leaving RFC 3986 unreserved characters. */
export function percentEncode(s: string): string {
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  return out
}

/** A request's spec operation: its JSON (or JWT) request body schema and its query parameters, if any. */
export function specOperation(specFile: string, specPath: string, method: string): { body?: Json; query: Array<{ name: string; schema: Json }>; doc: Json } {
  const doc = specValidator(specFile).doc
  const op = ((doc.paths as Json)[specPath] as Json | undefined)?.[method.toLowerCase()] as Json | undefined
  if (!op) throw new Error(`${method} ${specPath} is not in ${specFile}`)
  const content = ((op.requestBody as Json | undefined)?.content ?? {}) as Record<string, Json>
  const body = Object.values(content)[0]?.schema as Json | undefined
  const query = ((op.parameters ?? []) as Json[]).map((p) => (typeof p.$ref === 'string' ? resolveRef(doc, p.$ref) : p))
    .filter((p) => p.in === 'query').map((p) => ({ name: String(p.name), schema: (p.schema ?? {}) as Json }))
  return { ...(body ? { body } : {}), query, doc }
}

function resolveRef(doc: Json, ref: string): Json {
  let node: unknown = doc
  for (const p of ref.replace(/^#\//, '').split('/').map((x) => x.replaceAll('~1', '/').replaceAll('~0', '~'))) node = (node as Json)[p]
  if (node === undefined) throw new Error(`unresolved $ref ${ref}`)
  return node as Json
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Signs of a stack trace or an internal path in a response body: never shown to a caller. */
export function leaksInternals(body: string): string | undefined {
  const signs = [/\n\s+at [^\n]+:\d+:\d+/, /node:internal/, /\/services\/[a-z-]+\/src\//, /\.ts:\d+/, /FST_ERR_/, /ECONNREFUSED/, /TypeError|ReferenceError|RangeError|SyntaxError: /]
  return signs.find((re) => re.test(body))?.source
}

export { fc }
