// Every service has one shape (docs/decisions/platform-service-shape.md): `src/{config,app,main}.ts`, `domain/`
// (pure: no adapters, routes or I/O libraries), `adapters/`, `routes/*.routes.ts` registered with `register(...)`.
// This walks services/*/src so the shape stays true as services grow.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../', import.meta.url))
const servicesDir = join(root, 'services')
const services = readdirSync(servicesDir).filter((name) => existsSync(join(servicesDir, name, 'src', 'main.ts')))

/**
 * Files a service keeps at the top of `src/`: the three entry files, the gateway's `compose.ts` (the wiring `main.ts`
 * and the integration tests share), their tests and generated data.
 */
const TOP_LEVEL = new Set(['config.ts', 'app.ts', 'main.ts', 'compose.ts'])
const TOP_LEVEL_EXTRA = /(\.test\.ts|\.generated\.json)$/
/** The layers; a service that serves nothing of its own yet (admin, trace) gets them with its first route. */
const LAYERS = ['domain', 'adapters', 'routes'] as const

/** Imports a domain module must not make: HTTP servers and clients, databases, brokers, files, sockets. */
const IO_MODULES = /^(fastify|@fastify\/.*|fastify-.*|pg|pg-.*|kafkajs|ioredis|redis|undici|oidc-provider|node:(fs|fs\/promises|http|https|http2|net|tls|dgram|dns|child_process|worker_threads))$/

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

/** Module specifiers of the static and dynamic imports (and re-exports) of a TypeScript source. */
export function importsOf(source: string): string[] {
  const out: string[] = []
  for (const m of source.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s+['"]([^'"]+)['"]/gm)) out.push(m[1]!)
  for (const m of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]!)
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!)
  return out
}

/** Why a domain file's import breaks the rule, or undefined when it is fine. */
export function domainImportProblem(file: string, specifier: string, domainDir: string): string | undefined {
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier)
    return target.startsWith(domainDir + '/') ? undefined : `imports ${specifier}, outside domain/`
  }
  return IO_MODULES.test(specifier) ? `imports the I/O library ${specifier}` : undefined
}

describe('the shape of every service', () => {
  it('finds the services', () => {
    expect(services).toEqual(expect.arrayContaining(['admin', 'auth-server', 'connectors', 'consent', 'directory', 'gateway', 'trace', 'traffic']))
  })

  for (const service of services) {
    const src = join(servicesDir, service, 'src')
    const has = (p: string) => existsSync(join(src, p))
    const layered = LAYERS.some((layer) => has(layer))

    describe(service, () => {
      it('has config.ts, app.ts and main.ts, and nothing else at the top of src/ but layer directories', () => {
        for (const file of ['config.ts', 'app.ts', 'main.ts']) expect(has(file), `${service}/src/${file}`).toBe(true)
        const stray = readdirSync(src).filter((name) => {
          if (statSync(join(src, name)).isDirectory()) return false
          return !TOP_LEVEL.has(name) && !TOP_LEVEL_EXTRA.test(name)
        })
        expect(stray, `${service}/src: move these under domain/, adapters/ or routes/`).toEqual([])
      })

      it('has domain/, adapters/ and routes/ once it has any of them', () => {
        if (!layered) return
        for (const layer of LAYERS) expect(has(layer), `${service}/src/${layer}/`).toBe(true)
      })

      it('names every route plugin *.routes.ts and registers each one in app.ts with register()', () => {
        const app = readFileSync(join(src, 'app.ts'), 'utf8')
        const routeFiles = filesUnder(join(src, 'routes')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
        for (const file of routeFiles) {
          const name = relative(src, file)
          const source = readFileSync(file, 'utf8')
          const definesRoutes = /export\s+(async\s+)?function\s+\w+Routes\s*\(/.test(source) || /\.(get|post|put|patch|delete|all)\(\s*['"`]\/|\.route\(\s*\{/.test(source)
          if (definesRoutes) expect(name, `${service}/src/${name} defines routes`).toMatch(/\.routes\.ts$/)
        }
        for (const m of app.matchAll(/import\s*\{([^}]*)\}\s*from\s*'\.\/routes\/([^']+)'/g)) {
          expect(m[2], `${service}/src/app.ts imports a route module`).toMatch(/\.routes\.ts$/)
          const plugins = m[1]!.split(',').map((s) => s.trim()).filter((s) => /Routes$/.test(s))
          expect(plugins.length, `${service}/src/app.ts: ${m[2]} exports no *Routes plugin`).toBeGreaterThan(0)
          for (const plugin of plugins) expect(app, `${service}/src/app.ts registers ${plugin}`).toMatch(new RegExp(`\\.register\\(${plugin}\\b`))
        }
        const routesModules = routeFiles.filter((f) => f.endsWith('.routes.ts')).map((f) => relative(join(src, 'routes'), f))
        for (const module of routesModules) expect(app, `${service}/src/app.ts registers routes/${module}`).toContain(`./routes/${module}`)
      })

      it('keeps domain/ pure: no imports from adapters/, routes/ or I/O libraries', () => {
        const domainDir = join(src, 'domain')
        const problems = filesUnder(domainDir)
          .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
          .flatMap((file) => importsOf(readFileSync(file, 'utf8'))
            .map((spec) => domainImportProblem(file, spec, domainDir))
            .filter((p): p is string => p !== undefined)
            .map((p) => `${relative(root, file)} ${p}`))
        expect(problems).toEqual([])
      })
    })
  }
})

describe('the domain import rule', () => {
  const domainDir = '/repo/services/x/src/domain'
  const file = `${domainDir}/thing.ts`
  it('refuses adapters, routes and I/O libraries', () => {
    expect(domainImportProblem(file, '../adapters/http.ts', domainDir)).toMatch(/outside domain/)
    expect(domainImportProblem(file, '../routes/a.routes.ts', domainDir)).toMatch(/outside domain/)
    for (const lib of ['pg', 'kafkajs', 'fastify', '@fastify/swagger', 'undici', 'node:fs', 'node:net']) {
      expect(domainImportProblem(file, lib, domainDir), lib).toMatch(/I\/O library/)
    }
  })
  it('accepts other domain modules, the shared packages and pure libraries', () => {
    for (const spec of ['./ports.ts', './sub/rules.ts', '@ponte/contracts', '@ponte/platform', 'zod', 'jose', 'node:crypto']) {
      expect(domainImportProblem(file, spec, domainDir), spec).toBeUndefined()
    }
  })
  it('sees static, type-only, side-effect and dynamic imports', () => {
    const source = "import { a } from 'pg'\nimport type { B } from '../adapters/b.ts'\nimport 'kafkajs'\nexport { c } from './c.ts'\nconst d = await import('undici')\n"
    expect(importsOf(source).sort()).toEqual(['../adapters/b.ts', './c.ts', 'kafkajs', 'pg', 'undici'])
  })
})
