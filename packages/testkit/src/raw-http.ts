import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'

/** What a raw exchange got back: the first response, and whether the server closed the connection afterwards. */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** The parsed JSON body, when it is JSON. */
  json: unknown
  /** Whether the server ended the connection (within the wait) after the response. */
  closed: boolean
  /** A socket error seen while sending (EPIPE, ECONNRESET), if any. */
  error: string | undefined
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  /** TLS options (client certificate, trust); plain TCP when absent. */
  tls?: ConnectionOptions
  /** How long to wait for the close after a complete response. Default 300 ms. */
  closeWaitMs?: number
  /** Writes the payload parts one after the other, each once the previous one is flushed (a client still sending). */
  sequential?: boolean
  /** Longest wait for a complete response; past it the exchange fails as a hang. Default 30 s. */
  timeoutMs?: number
}

/**
 * Sends bytes exactly as given (malformed framing, duplicate headers, huge bodies) and reads the first HTTP/1.1
 * response. For the tests of refusals that an HTTP client library would not let through.
 */
export function rawRequest(url: string, payload: string | Buffer | Array<string | Buffer>, options: RawRequestOptions = {}): Promise<RawResponse> {
  const u = new URL(url)
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80))
  return new Promise((resolve, reject) => {
    const socket: Socket = options.tls
      ? tlsConnect({ host: u.hostname, port, servername: u.hostname === '127.0.0.1' ? undefined : u.hostname, ...options.tls })
      : netConnect({ host: u.hostname, port })
    const chunks: Buffer[] = []
    let parsed: Omit<RawResponse, 'closed' | 'error'> | undefined
    let error: string | undefined
    let settled = false
    const finish = (closed: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(overall)
      socket.destroy()
      if (parsed) resolve({ ...parsed, closed, error })
      else reject(new Error(`no complete response (${error ?? 'connection closed'}): ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`))
    }
    const overall = setTimeout(() => finish(false), options.timeoutMs ?? 30_000)
    const tryParse = () => {
      if (parsed) return
      const all = Buffer.concat(chunks)
      const end = all.indexOf('\r\n\r\n')
      if (end === -1) return
      const [statusLine, ...lines] = all.subarray(0, end).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const i = line.indexOf(':')
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
      }
      const length = Number(headers['content-length'] ?? 0)
      if (all.length - end - 4 < length) return
      const body = all.subarray(end + 4, end + 4 + length).toString('utf8')
      let json: unknown
      try { json = JSON.parse(body) } catch { json = undefined }
      parsed = { status: Number(statusLine!.split(' ')[1]), headers, body, json }
      setTimeout(() => finish(false), options.closeWaitMs ?? 300).unref()
    }
    socket.on('data', (c: Buffer) => { chunks.push(c); tryParse() })
    socket.on('end', () => { tryParse(); finish(true) })
    socket.on('close', () => { tryParse(); finish(true) })
    socket.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message })
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      const parts = Array.isArray(payload) ? payload : [payload]
      if (!options.sequential) {
        for (const p of parts) if (!socket.destroyed) socket.write(p, () => undefined)
        return
      }
      const next = (i: number) => {
        if (i >= parts.length || socket.destroyed) return
        socket.write(parts[i]!, (err) => { if (!err) setImmediate(() => next(i + 1)) })
      }
      next(0)
    })
  })
}
