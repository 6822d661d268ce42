/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and prints where the time went: self time per bucket (what
 * the innermost frame of each sample belongs to: the crypto the protocol requires, the database driver, the oidc
 * adapter, oidc-provider, TLS/HTTP, logging, …), inclusive time of the functions named on the command line (a
 * function on the stack of a sample counts once per sample, however deep the recursion), and the top functions by
 * self time.
 *
 *   node bench/cpuprofile.ts <file.cpuprofile> [--top 25] [--fn name …] [--window name] [--per n] [--json]
 *
 * `--window name` counts only the samples between the first and the last one with `name` on the stack (the load, not
 * the start-up); `--per n` adds the µs per operation, for n operations in that window.
 */
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Buckets, first match wins; `fn` matches the function name, `url` the script. */
const BUCKETS: Array<{ name: string; fn?: RegExp; url?: RegExp }> = [
  { name: 'idle', fn: /^\(idle\)$/ },
  { name: 'gc', fn: /^\(garbage collector\)$/ },
  // WebCrypto (jose) runs RSA as a job whose work is charged to `jobPromise`.
  { name: 'crypto: RSA sign / verify', fn: /^(jobPromise|sign|verify|signOneShot|verifyOneShot|rsaSignVerify|)$/, url: /node:internal\/crypto\/(util|sig|rsa)/ },
  { name: 'certificate: peer chain and X.509 parsing', fn: /^(TLSSocket\.getPeerCertificate|TLSSocket\.getPeerX509Certificate|getPeerCertificate|getPeerX509Certificate)$/ },
  { name: 'certificate: peer chain and X.509 parsing', url: /node:internal\/crypto\/x509|@peculiar\/|asn1js|pvtsutils|packages\/pki\// },
  { name: 'JOSE and WebCrypto plumbing (base64, JSON, key lookup, hashing)', url: /node:internal\/crypto\/|\/jose\// },
  { name: 'socket writes (syscall, TLS record encryption)', fn: /^(writev|writeUtf8String|writeBuffer|writeLatin1String|writeAsciiString)$/ },
  { name: 'TLS / sockets (other)', url: /node:_tls|node:tls|node:net|node:internal\/stream_base|node:internal\/tls/ },
  { name: 'HTTP (node:http, fastify)', url: /node:_http|node:http|\/fastify\/|\/find-my-way\/|\/light-my-request\/|\/avvio\// },
  { name: 'database driver (pg)', url: /\/pg\/|\/pg-protocol\/|\/pg-pool\/|\/pg-types\/|\/postgres-/ },
  { name: 'adapter (services/auth-server/src/adapters)', url: /services\/auth-server\/src\/adapters\// },
  { name: 'client assertion checks (oidc-provider client auth)', url: /oidc-provider\/lib\/shared\/(jwt_client_auth|client_auth)\.js/ },
  { name: 'signing path (oidc-provider jwt helpers, token formats)', url: /oidc-provider\/lib\/(helpers\/jwt|helpers\/keystore|models\/formats)/ },
  { name: 'oidc-provider (other)', url: /oidc-provider\// },
  { name: 'koa and its middleware', url: /\/koa[^/]*\/|\/@koa\/|\/raw-body\/|\/co-body\/|\/cookies\/|\/http-errors\// },
  { name: 'logging (pino)', url: /\/pino[^/]*\/|\/sonic-boom\/|\/thread-stream\// },
  { name: 'events (node:events)', url: /node:events/ },
  { name: 'auth-server (other)', url: /services\/auth-server\// },
  { name: 'platform packages', url: /packages\/(platform|pki|contracts)\// },
  { name: 'node internals (other)', url: /^node:/ },
  { name: 'native / program', fn: /^\((program|root)\)$/ },
]

function bucketOf(frame: CallFrame): string {
  for (const b of BUCKETS) {
    if (b.fn && !b.fn.test(frame.functionName)) continue
    if (b.url && !b.url.test(frame.url)) continue
    return b.name
  }
  return frame.url ? 'other JavaScript' : 'native (unattributed)'
}

const args = process.argv.slice(2)
const file = args.find((a) => !a.startsWith('--'))
if (!file) {
  console.error('usage: node bench/cpuprofile.ts <file.cpuprofile> [--top N] [--fn name …] [--json]')
  process.exit(2)
}
const topN = Number(args[args.indexOf('--top') + 1] ?? 25) || 25
const fns = args.flatMap((a, i) => (args[i - 1] === '--fn' ? [a] : []))
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const windowFn = args[args.indexOf('--window') + 1]
const onStack = (id: number, name: string) => {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)!.callFrame.functionName === name) return true
  return false
}
let first = 0
let last = profile.samples.length - 1
if (args.includes('--window') && windowFn) {
  first = profile.samples.findIndex((id) => onStack(id, windowFn))
  while (last > first && !onStack(profile.samples[last]!, windowFn)) last--
  if (first < 0) throw new Error(`${windowFn} is on no sampled stack`)
}
const per = Number(args[args.indexOf('--per') + 1] ?? 0) || 0
const self = new Map<number, number>()
let windowUs = 0
for (let i = first; i <= last; i++) {
  const id = profile.samples[i]!
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  windowUs += profile.timeDeltas[i] ?? 0
}
const total = [...self.values()].reduce((a, b) => a + b, 0)
const busy = total - [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0)

const buckets = new Map<string, number>()
const functions = new Map<string, number>()
for (const [id, t] of self) {
  const f = byId.get(id)!.callFrame
  buckets.set(bucketOf(f), (buckets.get(bucketOf(f)) ?? 0) + t)
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^file:\/\/.*?\/(services|packages|bench)\//, '$1/')}:${f.lineNumber + 1}`
  functions.set(key, (functions.get(key) ?? 0) + t)
}

// Inclusive time of named functions: each sample counts once if the function is anywhere on its stack.
const inclusive = new Map<string, number>(fns.map((f) => [f, 0]))
if (fns.length) {
  for (const [id, t] of self) {
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)!.callFrame.functionName
      if (inclusive.has(name) && !seen.has(name)) { seen.add(name); inclusive.set(name, inclusive.get(name)! + t) }
    }
  }
}

const ms = (us: number) => Math.round(us / 1000)
const share = (us: number) => `${((us / busy) * 100).toFixed(1)} %${per ? ` ${String(Math.round(us / per)).padStart(5)} µs/op` : ''}`
const result = {
  wallMs: ms(args.includes('--window') ? windowUs : profile.endTime - profile.startTime),
  busyMs: ms(busy),
  buckets: [...buckets].filter(([b]) => b !== 'idle').sort((a, b) => b[1] - a[1]).map(([bucket, t]) => ({ bucket, ms: ms(t), share: share(t) })),
  inclusive: [...inclusive].map(([fn, t]) => ({ fn, ms: ms(t), share: share(t) })),
  topSelf: [...functions].filter(([f]) => !f.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, topN).map(([fn, t]) => ({ fn, ms: ms(t), share: share(t) })),
}
if (args.includes('--json')) {
  console.log(JSON.stringify(result))
} else {
  console.log(`wall ${result.wallMs} ms${windowFn && args.includes('--window') ? ` (window: ${windowFn})` : ''}, busy (not idle) ${result.busyMs} ms${per ? `, ${Math.round(busy / per)} µs busy per op` : ''}; shares are of busy time`)
  console.log('\nself time by bucket')
  for (const b of result.buckets) console.log(`  ${b.share.padStart(7)}  ${String(b.ms).padStart(6)} ms  ${b.bucket}`)
  if (result.inclusive.length) {
    console.log('\ninclusive time')
    for (const f of result.inclusive) console.log(`  ${f.share.padStart(7)}  ${String(f.ms).padStart(6)} ms  ${f.fn}`)
  }
  console.log(`\ntop ${topN} functions by self time`)
  for (const f of result.topSelf) console.log(`  ${f.share.padStart(7)}  ${String(f.ms).padStart(6)} ms  ${f.fn}`)
}
