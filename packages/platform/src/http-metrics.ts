import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onResponseHookHandler } from 'fastify'
import { httpRequestDuration, type HistogramSeries } from './metrics.ts'

/** Routes left out of the latency histogram: probes, polled every few seconds, would drown the API's figures. */
const UNMEASURED = new Set(['/healthz', '/readyz'])

type Instrumentable = {
  addHook(name: 'onRoute', hook: (route: { url: string; path?: string; method: string | string[]; onResponse?: onResponseHookHandler | onResponseHookHandler[] }) => void): unknown
  addHook(name: 'onResponse', hook: (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void): unknown
}

/**
 * Observes every response in `ponte_http_request_duration_seconds`, labelled by the route's template (`/consents/:id`,
 * never the raw path), the method and the status code. Each route gets its own response hook with its series bound
 * per method and status on first use, so a request costs one map and one array lookup and an in-place update.
 * Unmatched paths count under the route `(unmatched)`.
 */
export function instrumentHttp(app: Instrumentable): void {
  app.addHook('onRoute', (route) => {
    const template = route.url
    if (UNMEASURED.has(template)) return
    const byMethod = new Map<string, Array<HistogramSeries | undefined>>()
    const hook = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      let byStatus = byMethod.get(req.method)
      if (!byStatus) { byStatus = []; byMethod.set(req.method, byStatus) }
      const status = reply.statusCode
      const series = byStatus[status] ??= httpRequestDuration.series(template, req.method, String(status))
      series.observe(reply.elapsedTime / 1000)
      done()
    }
    const existing = route.onResponse
    route.onResponse = existing === undefined ? [hook as onResponseHookHandler] : [...(Array.isArray(existing) ? existing : [existing]), hook as onResponseHookHandler]
  })
  const unmatched = new Map<string, HistogramSeries>()
  app.addHook('onResponse', (req, reply, done) => {
    if (req.is404) {
      const key = `${req.method} ${reply.statusCode}`
      let series = unmatched.get(key)
      if (!series) {
        // Any method string reaches here; only the standard ones get their own series.
        series = httpRequestDuration.series('(unmatched)', STANDARD_METHODS.has(req.method) ? req.method : 'OTHER', String(reply.statusCode))
        if (unmatched.size < 64) unmatched.set(key, series)
      }
      series.observe(reply.elapsedTime / 1000)
    }
    done()
  })
}

const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
