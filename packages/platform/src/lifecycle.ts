import { setTimeout as sleep } from 'node:timers/promises'
import { beginDrain, type PonteServer } from './server.ts'
import { startMetricsListener } from './metrics.ts'

/** Something to release at shutdown, after the HTTP server stopped taking requests. */
export type Closer = () => Promise<unknown> | unknown

/** Options of {@link runService}. */
export interface RunServiceOptions {
  app: PonteServer
  host: string
  port: number
  /** Released in order after the server closed (consumers, relays, pools). */
  closers?: Closer[]
  /** Grace period for in-flight requests before the process exits anyway. */
  shutdownTimeoutMs: number
  /** Where to serve `GET /metrics` (a listener of its own); none when absent. */
  metrics?: { host: string; port: number }
  /**
   * On SIGTERM, how long to keep serving while draining (readiness 503, `connection: close` on every answer) before
   * the listener closes, so a load balancer stops sending new connections first. Default 0. Part of the grace period.
   */
  drainDelayMs?: number
}

/**
 * Listens and wires SIGTERM/SIGINT to a graceful stop: readiness turns red (and with `drainDelayMs` the server goes on
 * serving that long, closing each keep-alive connection after its answer), the server stops accepting, in-flight
 * requests finish, then every closer runs; the process exits 0, or 1 when the grace period runs out.
 */
export async function runService(options: RunServiceOptions): Promise<string> {
  const { app } = options
  const address = await app.listen({ host: options.host, port: options.port })
  const metrics = options.metrics
    ? await startMetricsListener({ ...options.metrics, logger: app.log }).catch(async (err: unknown) => {
      await app.close()
      throw new Error(`cannot serve /metrics on ${options.metrics!.host}:${options.metrics!.port} (METRICS_HOST, METRICS_PORT): ${err instanceof Error ? err.message : String(err)}`)
    })
    : undefined
  if (metrics) app.log.info({ metricsAddress: metrics.address }, 'metrics served')
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      app.log.error({ timeoutMs: options.shutdownTimeoutMs }, 'shutdown timed out')
      process.exit(1)
    }, options.shutdownTimeoutMs)
    timer.unref()
    try {
      if (options.drainDelayMs) {
        beginDrain(app)
        await sleep(options.drainDelayMs)
      }
      await app.close()
      await metrics?.close()
      for (const close of options.closers ?? []) await close()
      app.log.info('stopped')
      process.exit(0)
    } catch (err) {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.once('SIGTERM', () => void stop('SIGTERM'))
  process.once('SIGINT', () => void stop('SIGINT'))
  return address
}
