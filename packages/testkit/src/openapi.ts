import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { parse } from 'yaml'
import { repoRoot } from './infra.ts'

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

type Json = Record<string, unknown>

/** Checks HTTP responses against the official Open Finance Brasil OpenAPI file, read as it is from `specs/ofb/`. */
export interface SpecValidator {
  /** The parsed spec document. */
  readonly doc: Json
  /**
   * Validates `body` as the response of `method path` (the spec's path template, e.g. `/consents/{consentId}`) with
   * `status`. Returns a list of problems; empty means valid. A status the spec does not document is a problem too.
   */
  check(method: string, path: string, status: number, body: unknown): string[]
  /** Like {@link check} but throws with every problem listed. */
  assert(method: string, path: string, status: number, body: unknown): void
  /** Validates a value against `#/components/schemas/<name>`. */
  checkSchema(name: string, value: unknown): string[]
}

const cache = new Map<string, SpecValidator>()

function pointer(...parts: string[]): string {
  return '#/' + parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')
}

function resolve(doc: Json, ref: string): Json {
  const parts = ref.replace(/^#\//, '').split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
  let node: unknown = doc
  for (const p of parts) node = (node as Json)[p]
  if (node === undefined) throw new Error(`unresolved $ref ${ref}`)
  return node as Json
}

/**
 * Loads (once) a validator for `specs/ofb/<file>`, e.g. `consents-v3.3.1.yaml`, or for an OpenAPI file of the project
 * given as a `file:` URL (e.g. `services/connectors/core-api.yaml`).
 */
export function specValidator(spec: string | URL): SpecValidator {
  const file = typeof spec === 'string' ? spec : spec.pathname.split('/').pop()!
  const cached = cache.get(String(spec))
  if (cached) return cached
  const text = readFileSync(typeof spec === 'string' ? `${repoRoot}specs/ofb/${spec}` : spec, 'utf8').replace(/^\uFEFF/, '')
  const doc = parse(text) as Json
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true })
  addFormats(ajv)
  const id = `spec:${file}`
  ajv.addSchema({ ...doc, $id: id } as Json, id)
  const compiled = new Map<string, ValidateFunction>()
  const compile = (ref: string) => {
    let fn = compiled.get(ref)
    if (!fn) {
      fn = ajv.compile({ $ref: `${id}${ref}` })
      compiled.set(ref, fn)
    }
    return fn
  }
  const run = (ref: string, value: unknown) => {
    const fn = compile(ref)
    if (fn(value)) return []
    return (fn.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
  }
  const validator: SpecValidator = {
    doc,
    check(method, path, status, body) {
      const op = ((doc.paths as Json)[path] as Json | undefined)?.[method.toLowerCase()] as Json | undefined
      if (!op) return [`${method} ${path} is not in ${file}`]
      const responses = op.responses as Json
      const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined
      if (!key) return [`status ${status} is not documented for ${method} ${path} in ${file}`]
      let response = responses[key] as Json
      let base = pointer('paths', path, method.toLowerCase(), 'responses', key)
      while (typeof response.$ref === 'string') {
        base = response.$ref
        response = resolve(doc, response.$ref)
      }
      const content = response.content as Json | undefined
      if (!content) return body === undefined || body === '' || body === null ? [] : [`${method} ${path} ${status} has no body in ${file}`]
      const type = Object.keys(content).find((t) => t.includes('json')) ?? Object.keys(content)[0]!
      return run(`${base}/content/${type.replaceAll('~', '~0').replaceAll('/', '~1')}/schema`, body)
    },
    assert(method, path, status, body) {
      const problems = validator.check(method, path, status, body)
      if (problems.length) throw new Error(`response does not match ${file} ${method} ${path} ${status}:\n  ${problems.join('\n  ')}\nbody: ${JSON.stringify(body).slice(0, 2000)}`)
    },
    checkSchema(name, value) {
      return run(pointer('components', 'schemas', name), value)
    },
  }
  cache.set(String(spec), validator)
  return validator
}
