/** The console API client: same-origin cookies, the session's CSRF token on every change, errors from the OFB envelope. */
let csrfToken = ''

export function setCsrfToken(token: string): void { csrfToken = token }

export class ApiError extends Error {
  readonly status: number
  constructor(status: number, message: string) { super(message); this.status = status }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  if (res.status === 204) return undefined as T
  const data = (await res.json().catch(() => ({}))) as { errors?: Array<{ detail?: string }> }
  if (!res.ok) throw new ApiError(res.status, data.errors?.[0]?.detail ?? `HTTP ${res.status}`)
  return data as T
}

export interface Me { userId: string; email: string; name: string; roles: string[]; permissions: string[] }
export interface SessionAnswer { csrfToken: string; user: Me }
