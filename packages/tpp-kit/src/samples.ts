/**
 * Sample requests (`docs/tpp/samples/<api>/<name>.json`): `{ description, method, path, body?, notes? }`, a request a
 * developer reads and replays with `pnpm ponte tpp call --sample FILE`. `{name}` in the path is filled by `--param`.
 */
import { readFile } from 'node:fs/promises'

export interface Sample {
  description: string
  method: string
  path: string
  body?: unknown
  notes?: string
}

/** Parses a sample file's text; refuses anything but the documented shape. */
export function parseSample(text: string, file = 'sample'): Sample {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error(`${file} is not valid JSON`)
  }
  const s = value as Partial<Sample>
  if (!s || typeof s !== 'object' || typeof s.method !== 'string' || typeof s.path !== 'string' || typeof s.description !== 'string') {
    throw new Error(`${file} is not a sample request ({ "description", "method", "path", "body"? })`)
  }
  if (!/^(GET|POST|PUT|PATCH|DELETE)$/.test(s.method)) throw new Error(`${file}: unsupported method ${s.method}`)
  if (!s.path.startsWith('/open-banking/')) throw new Error(`${file}: the path must start with /open-banking/`)
  const extra = Object.keys(s).filter((k) => !['description', 'method', 'path', 'body', 'notes'].includes(k))
  if (extra.length) throw new Error(`${file}: unknown member(s) ${extra.join(', ')}`)
  return s as Sample
}

export async function readSample(file: string): Promise<Sample> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`cannot read ${file}`)
  })
  return parseSample(text, file)
}

/** Replaces each `{name}` of `path` with the URL-encoded value of `name=value`; every parameter must be filled. */
export function fillPath(path: string, params: string[]): string {
  const values = new Map<string, string>()
  for (const p of params) {
    const i = p.indexOf('=')
    if (i <= 0) throw new Error(`--param must be NAME=VALUE, not "${p}"`)
    values.set(p.slice(0, i), p.slice(i + 1))
  }
  const filled = path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const v = values.get(name)
    if (v === undefined) throw new Error(`the path ${path} needs --param ${name}=…`)
    values.delete(name)
    return encodeURIComponent(v)
  })
  if (values.size) throw new Error(`the path ${path} has no {${[...values.keys()].join('}, {')}}`)
  return filled
}
