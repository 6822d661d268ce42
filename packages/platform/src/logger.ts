import { trace } from '@opentelemetry/api'
import { pino, type Logger, type LoggerOptions } from 'pino'
import { tracingEnabled } from './tracing.ts'

export type { Logger } from 'pino'

/**
 * Field names whose values never reach a log line, at any depth: credentials, cookies, secrets and key material.
 * (Matched by name in one pass over the line; pino's wildcard path redaction costs several times more per line.)
 */
export const redactedKeys: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'secret',
  'privateKey',
  'privateKeyPem',
  'privateJwk',
  'client_secret',
  'client_assertion',
  'access_token',
  'refresh_token',
  'id_token',
  'x-client-cert',
  'ssl-client-cert',
  'x-ponte-service-token',
])

// CPF (11 digits, optionally 000.000.000-00) and CNPJ (14 digits, optionally 00.000.000/0000-00), not inside longer numbers.
const CPF = /(?<![\d.])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\d])/g
const CNPJ = /(?<![\d.])\d{2}\.?\d{3}\.?\d{3}\/?\d{4}-?\d{2}(?![\d])/g
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g

/** Masks CPF- and CNPJ-looking values and PEM private keys inside a string (LGPD: personal data never reaches logs). */
export function maskSensitive(text: string): string {
  if (!/\d{11}|\d{3}\.\d{3}|PRIVATE KEY/.test(text)) return text
  return text.replace(PRIVATE_KEY, '[PRIVATE KEY]').replace(CNPJ, '[CNPJ]').replace(CPF, '[CPF]')
}

/** Fields never masked: trace and span ids are hex strings whose digit runs may look like a CPF. */
const UNMASKED: ReadonlySet<string> = new Set(['traceId', 'spanId'])

/** `traceId` and `spanId` of the active span, for every log line written inside one (pino merges into the result: fresh each time). */
function traceMixin(): object {
  const sc = trace.getActiveSpan()?.spanContext()
  return sc && trace.isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : {}
}

function maskDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskSensitive(value)
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1))
  if (value instanceof Error) return value
  const out: Record<string, unknown> = {}
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k]
    out[k] = redactedKeys.has(k) ? '[REDACTED]' : UNMASKED.has(k) ? v : maskDeep(v, depth + 1)
  }
  return out
}

function maskedError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>
  return maskDeep(serialized, 0)
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The service name, bound to every line as `service`. */
  service: string
  level?: LoggerOptions['level']
  /** Where lines go; defaults to stdout. Tests pass a stream to inspect them. */
  destination?: pino.DestinationStream
}

/**
 * The one logger of the platform: JSON lines, `service` bound, credentials redacted by field name, and CPF/CNPJ-looking
 * values and private keys masked wherever they appear (messages and fields).
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: maskedError },
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => maskDeep(obj, 0) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? maskSensitive(a) : a)) as typeof args
        return method.apply(this, masked)
      },
    },
  }
  // With tracing on (the OpenTelemetry bootstrap ran), every line written inside a span names its trace and span.
  if (tracingEnabled()) opts.mixin = traceMixin
  return options.destination ? pino(opts, options.destination) : pino(opts)
}
