/**
 * One error type with stable codes, mapped to HTTP statuses and to the Open Finance Brasil error envelope in one place.
 * Domain code throws {@link DomainError}; the server factory's error handler turns it into
 * `{ errors: [{ code, title, detail }], meta: { requestDateTime } }` (docs/regulation/data-apis.md#error-envelope).
 */

/** Every platform-level error code and its HTTP status. A code without a status does not compile. */
export const httpStatus = {
  INVALID_PARAMETER: 400,
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_ENTITY: 422,
  OPERATIONAL_LIMIT_EXCEEDED: 423,
  TOO_MANY_REQUESTS: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  BAD_GATEWAY: 502,
  UPSTREAM_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
  SITE_OVERLOADED: 529,
} as const

/** A platform error code; see `docs/errors.md`. */
export type ErrorCode = keyof typeof httpStatus

const titles: Record<ErrorCode, string> = {
  INVALID_PARAMETER: 'Parâmetro inválido',
  INVALID_REQUEST: 'Requisição malformada',
  UNAUTHORIZED: 'Não autorizado',
  FORBIDDEN: 'Acesso negado',
  NOT_FOUND: 'Recurso não encontrado',
  METHOD_NOT_ALLOWED: 'Método não permitido',
  NOT_ACCEPTABLE: 'Formato não suportado',
  CONFLICT: 'Conflito',
  PAYLOAD_TOO_LARGE: 'Corpo da requisição grande demais',
  URI_TOO_LONG: 'URI grande demais',
  UNSUPPORTED_MEDIA_TYPE: 'Tipo de conteúdo não suportado',
  UNPROCESSABLE_ENTITY: 'Regra de negócio violada',
  OPERATIONAL_LIMIT_EXCEEDED: 'Limite operacional excedido',
  TOO_MANY_REQUESTS: 'Muitas requisições',
  HEADERS_TOO_LARGE: 'Cabeçalhos grandes demais',
  INTERNAL_ERROR: 'Erro interno',
  BAD_GATEWAY: 'Falha no sistema de origem',
  UPSTREAM_UNAVAILABLE: 'Serviço dependente indisponível',
  SERVICE_UNAVAILABLE: 'Serviço indisponível',
  GATEWAY_TIMEOUT: 'Tempo de resposta esgotado',
  SITE_OVERLOADED: 'O site está sobrecarregado',
}

/** Options of a {@link DomainError} beyond its code and message. */
export interface DomainErrorOptions extends ErrorOptions {
  /** HTTP status to use instead of the code's default (e.g. an API-specific 422 code carried as `code`). */
  status?: number
  /** The `code` written in the OFB envelope when it differs from the platform code (API-specific enums). */
  ofbCode?: string
  /** The `title` written in the envelope; defaults to the code's title. */
  title?: string
  /** Extra response headers (e.g. `Retry-After`). */
  headers?: Record<string, string>
  /**
   * Not logged per call: for refusals that come by thousands when they come at all and are counted elsewhere (load
   * shedding logs each episode once and counts every call in a metric).
   */
  quiet?: boolean
}

/**
 * An expected failure with a stable code. Its message becomes the envelope's `detail`, so it must be safe to show
 * to the caller; put internals in `cause`.
 */
export class DomainError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly ofbCode: string
  readonly title: string
  readonly headers: Record<string, string>
  readonly quiet: boolean
  constructor(code: ErrorCode, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DomainError'
    this.code = code
    this.status = options.status ?? httpStatus[code]
    this.ofbCode = options.ofbCode ?? code
    this.title = options.title ?? titles[code]
    this.headers = options.headers ?? {}
    this.quiet = options.quiet ?? false
  }
}

/** One entry of the OFB `errors[]` array. */
export interface OfbErrorItem {
  code: string
  title: string
  detail: string
}

/** The OFB `ResponseError` body. */
export interface OfbErrorBody {
  errors: OfbErrorItem[]
  meta: { requestDateTime: string; totalRecords?: number; totalPages?: number }
}

let lastSecond = Number.NaN
let lastText = ''

/** RFC 3339 UTC date-time without fractional seconds, as the OFB conventions require (`2026-01-02T03:04:05Z`). */
export function ofbDateTime(date?: Date): string {
  const ms = date === undefined ? Date.now() : date.getTime()
  // Every refusal writes one: the text of the current second is kept rather than formatted per call.
  const second = Math.floor(ms / 1000)
  if (second !== lastSecond || !Number.isFinite(ms)) {
    lastText = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
    lastSecond = second
  }
  return lastText
}

const clip = (s: string, max: number) => (s.length > max ? s.slice(0, max) : s)

/** Builds the OFB error envelope; `code` and `title` are clipped to 255 characters and `detail` to 2048 (spec limits). */
export function ofbError(items: OfbErrorItem | OfbErrorItem[], now?: Date): OfbErrorBody {
  const list = (Array.isArray(items) ? items : [items]).slice(0, 13)
  return {
    errors: list.map((e) => ({ code: clip(e.code, 255), title: clip(e.title, 255), detail: clip(e.detail, 2048) })),
    meta: { requestDateTime: ofbDateTime(now) },
  }
}

/** The envelope of a {@link DomainError}. */
export function domainErrorBody(err: DomainError, now: Date = new Date()): OfbErrorBody {
  return ofbError({ code: err.ofbCode, title: err.title, detail: err.message }, now)
}

/** The default title of a platform code. */
export function errorTitle(code: ErrorCode): string {
  return titles[code]
}
