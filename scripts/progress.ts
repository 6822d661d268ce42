/**
 * Progress of long command-line work (`pnpm ponte seed`, bulk onboarding, key rotation, `make up`'s first start):
 * on a terminal a bar with the count, the rate and the time left (cli-progress); otherwise (a log file, CI, a pipe)
 * one plain line per phase and one every `intervalMs` with the same figures, so a slow step is never silent and the
 * output stays readable as text. Decision: docs/decisions/cli-progress.md.
 */
import cliProgress from 'cli-progress'

/** A phase of work: `total` units (rows, organisations, keys) or unknown. */
export interface Progress {
  /** Starts a phase (ending the previous one); `total` undefined when it cannot be counted (one SQL statement). */
  phase(name: string, total?: number): void
  /** Sets how many units of the current phase are done. */
  update(done: number): void
  /** Adds `n` (default 1) done units. */
  increment(n?: number): void
  /** Ends the current phase and the reporter (prints its last line). */
  stop(): void
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Prefix of every line, e.g. `seed`. */
  label: string
  /** The unit counted, e.g. `rows` (plural). */
  unit: string
  /** Where to write (default stderr, so that stdout stays the command's result). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean }
  /** Force terminal or plain output (default: the stream's `isTTY`, plain when `CI` is set). */
  tty?: boolean
  /** Between two plain lines (default 5 s). */
  intervalMs?: number
  /** Clock (tests). */
  now?: () => number
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US')
/** A rate: whole numbers from 10 up, one decimal below (a few services or TPPs per second). */
const rateOf = (perSecond: number) => (perSecond >= 10 ? grouped(perSecond) : perSecond.toFixed(1))

/** "1 min 05 s", "12 s", "2 h 03 min": a duration for a person. */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

/** The plain line of a phase: `label: phase 35,000/100,000 rows (35%), 5,800 rows/s, about 11 s left`. */
export function plainLine(o: { label: string; phase: string; unit: string; done: number; total?: number; elapsedMs: number; finished?: boolean }): string {
  const seconds = o.elapsedMs / 1000
  const rate = seconds > 0 ? o.done / seconds : 0
  const parts = [`${o.label}: ${o.phase}`]
  if (o.total !== undefined) parts[0] += ` ${grouped(o.done)}/${grouped(o.total)} ${o.unit} (${o.total > 0 ? Math.floor((o.done / o.total) * 100) : 100}%)`
  else if (o.done > 0) parts[0] += ` ${grouped(o.done)} ${o.unit}`
  // The opening line of a phase says only what starts.
  if (!o.finished && o.done === 0 && seconds < 0.5) return `${parts[0]} …`
  if (o.done > 0 && seconds > 0) parts.push(`${rateOf(rate)} ${o.unit}/s`)
  if (o.finished) parts.push(`done in ${humanDuration(seconds)}`)
  else if (o.total !== undefined && rate > 0) parts.push(`about ${humanDuration((o.total - o.done) / rate)} left`)
  else parts.push(`${humanDuration(seconds)} so far`)
  return parts.join(', ')
}

/** A progress reporter for a terminal (bar) or a log (plain lines), chosen from the stream. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  const tty = options.tty ?? (Boolean(stream.isTTY) && !process.env.CI)
  const now = options.now ?? Date.now
  const intervalMs = options.intervalMs ?? 5_000
  let current: { name: string; total?: number; done: number; started: number } | undefined
  let timer: NodeJS.Timeout | undefined
  let bar: cliProgress.SingleBar | undefined

  const line = (finished = false) => {
    if (!current) return
    stream.write(`${plainLine({ label: options.label, phase: current.name, unit: options.unit, done: current.done, ...(current.total !== undefined ? { total: current.total } : {}), elapsedMs: now() - current.started, finished })}\n`)
  }
  /** The bar's rate and time left, computed as the plain lines compute them. */
  const figures = () => {
    const s = current ? (now() - current.started) / 1000 : 0
    if (!current || s <= 0 || current.done === 0) return { rate: '…', left: '…' }
    const r = current.done / s
    return { rate: `${rateOf(r)} ${options.unit}/s`, left: current.total !== undefined ? humanDuration((current.total - current.done) / r) : '…' }
  }
  const end = () => {
    if (timer) clearInterval(timer)
    timer = undefined
    if (!current) return
    if (tty && bar) {
      bar.update(current.done, figures())
      bar.stop()
      bar = undefined
      stream.write(`${plainLine({ label: options.label, phase: current.name, unit: options.unit, done: current.done, ...(current.total !== undefined ? { total: current.total } : {}), elapsedMs: now() - current.started, finished: true })}\n`)
    } else {
      line(true)
    }
    current = undefined
  }

  return {
    phase(name, total) {
      end()
      current = { name, ...(total !== undefined ? { total } : {}), done: 0, started: now() }
      if (tty) {
        const counted = total !== undefined
        bar = new cliProgress.SingleBar({
          stream,
          format: counted
            ? `${options.label}: {phase} [{bar}] {percentage}% | {value}/{total} ${options.unit} | {rate} | {left} left`
            : `${options.label}: {phase} | {duration_formatted}`,
          formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? grouped(v) : String(v)),
          // The cursor stays visible: a command that exits in the middle (a failure) must not leave it hidden.
          hideCursor: false,
          fps: 5,
        }, cliProgress.Presets.shades_classic)
        bar.start(counted ? total : 1, 0, { phase: name, rate: '…', left: '…' })
        // An uncounted phase still ticks its elapsed time.
        if (!counted) timer = setInterval(() => bar?.update(0, { phase: name }), 1000)
      } else {
        line()
        timer = setInterval(() => line(), intervalMs)
        timer.unref()
      }
    },
    update(done) {
      if (!current) return
      current.done = done
      bar?.update(done, figures())
    },
    increment(n = 1) {
      if (!current) return
      this.update(current.done + n)
    },
    stop() {
      end()
    },
  }
}
