import { existsSync } from 'node:fs'
import fastifyStatic from '@fastify/static'
import type { PonteServer } from '@ponte/platform'

/** Options of {@link webRoutes}. */
export interface WebRoutesOptions {
  /** The built single-page app (`web/dist`); nothing is served when it does not exist. */
  dir: string
}

/**
 * The console's built browser app: `index.html` (never cached, so a new build is picked up at once) and the hashed
 * assets (cached for a year). Only files present at start are routed, so an unknown path stays a 404 in the envelope.
 */
export async function webRoutes(app: PonteServer, opts: WebRoutesOptions): Promise<void> {
  if (!existsSync(`${opts.dir}/index.html`)) {
    app.log.warn({ dir: opts.dir }, 'the console app is not built (make install builds it); serving the API only')
    return
  }
  await app.register(fastifyStatic, {
    root: opts.dir,
    wildcard: false,
    index: 'index.html',
    setHeaders: (res, path) => {
      res.header('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable')
    },
  })
}
