import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '@ponte/platform'

/** Options of {@link superviseWorkers}. */
export interface SuperviseOptions {
  workers: number
  logger: Logger
  /** The workers' own grace period (SHUTDOWN_TIMEOUT_MS); the primary waits a little longer before killing them. */
  shutdownTimeoutMs: number
}

/**
 * The primary of a multi-process gateway: forks `workers` copies of the current entry point, which share the
 * listening socket (node:cluster hands each accepted connection to a worker; TLS, checks and proxying all run in the
 * workers, the primary serves nothing). A worker that dies is replaced, with a growing delay when they keep dying.
 * SIGTERM/SIGINT stop every worker gracefully (each drains its in-flight requests), then the primary exits 0; if a
 * worker outlives the grace period it is killed and the primary exits 1.
 */
export function superviseWorkers(options: SuperviseOptions): void {
  const { logger } = options
  const live = new Set<Worker>()
  let stopping = false
  let recentDeaths = 0

  const fork = () => {
    const worker = cluster.fork()
    live.add(worker)
    worker.on('exit', (code, signal) => {
      live.delete(worker)
      if (stopping) {
        if (live.size === 0) {
          logger.info('stopped')
          process.exit(0)
        }
        return
      }
      // Back off when workers keep dying (a bad dependency at start), so the primary does not spin.
      const delayMs = Math.min(100 * 2 ** recentDeaths, 10_000)
      recentDeaths++
      setTimeout(() => { recentDeaths = Math.max(0, recentDeaths - 1) }, 60_000).unref()
      logger.error({ worker: worker.process.pid, code, signal, restartInMs: delayMs }, 'gateway worker exited; starting another')
      setTimeout(() => { if (!stopping) fork() }, delayMs)
    })
  }

  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal, workers: live.size }, 'shutting down')
    if (live.size === 0) process.exit(0)
    for (const worker of live) worker.process.kill('SIGTERM')
    setTimeout(() => {
      logger.error({ workers: [...live].map((w) => w.process.pid) }, 'workers did not stop in time; killing them')
      for (const worker of live) worker.process.kill('SIGKILL')
      process.exit(1)
    }, options.shutdownTimeoutMs + 2_000).unref()
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))

  for (let i = 0; i < options.workers; i++) fork()
  logger.info({ workers: options.workers, primary: process.pid }, 'gateway primary started its workers')
}
