import { X509Certificate } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { createDevCa, importCa, type DevCa } from './ca.ts'
import { issueServerCertificate } from './issue.ts'

/** File names inside a dev PKI folder. */
export const DEV_PKI_FILES = {
  rootCertificate: 'root-ca.crt.pem',
  rootPrivateKey: 'root-ca.key.pem',
  intermediateCertificate: 'intermediate-ca.crt.pem',
  intermediatePrivateKey: 'intermediate-ca.key.pem',
  /** Server certificate alone. */
  serverCertificate: 'server.crt.pem',
  serverPrivateKey: 'server.key.pem',
  /** Server certificate + intermediate: the TLS server's `cert`. */
  serverChain: 'server.chain.pem',
  /** Intermediate + root: the CA bundle to trust. */
  caBundle: 'ca-bundle.pem',
} as const

/** A loaded dev PKI folder. */
export interface DevPki {
  /** Absolute folder path. */
  readonly dir: string
  /** True when this call created the folder. */
  readonly created: boolean
  readonly ca: DevCa
  /** Server credentials for `localhost`, `127.0.0.1` and `::1` (plus any extra names given at creation). */
  readonly server: { readonly certificatePem: string; readonly privateKeyPem: string; readonly chainPem: string }
  /** Root CA certificate PEM: the trust anchor. */
  readonly rootCertificatePem: string
  /** Intermediate + root PEM. */
  readonly caBundlePem: string
  /** Absolute paths of the files, by {@link DEV_PKI_FILES} key. */
  readonly files: { readonly [K in keyof typeof DEV_PKI_FILES]: string }
}

/** Options of {@link loadOrCreateDevPki}; they only matter when the folder is created. */
export interface DevPkiOptions {
  /** CA name prefix. */
  readonly name?: string
  /** Extra server host names besides `localhost`. */
  readonly hostnames?: readonly string[]
  /** Extra server IPs besides `127.0.0.1` and `::1`. */
  readonly ips?: readonly string[]
}

const KEY_FILES: ReadonlySet<string> = new Set([DEV_PKI_FILES.rootPrivateKey, DEV_PKI_FILES.intermediatePrivateKey, DEV_PKI_FILES.serverPrivateKey])

async function writeNew(dir: string, options: DevPkiOptions): Promise<void> {
  const ca = await createDevCa(options.name === undefined ? {} : { name: options.name })
  const server = await issueServerCertificate(ca, {
    hostnames: ['localhost', ...(options.hostnames ?? [])],
    ips: ['127.0.0.1', '::1', ...(options.ips ?? [])],
    validityDays: 825,
  })
  const contents: Record<string, string> = {
    [DEV_PKI_FILES.rootCertificate]: ca.root.certificatePem,
    [DEV_PKI_FILES.rootPrivateKey]: ca.root.privateKeyPem,
    [DEV_PKI_FILES.intermediateCertificate]: ca.intermediate.certificatePem,
    [DEV_PKI_FILES.intermediatePrivateKey]: ca.intermediate.privateKeyPem,
    [DEV_PKI_FILES.serverCertificate]: server.certificatePem,
    [DEV_PKI_FILES.serverPrivateKey]: server.privateKeyPem,
    [DEV_PKI_FILES.serverChain]: server.chainPem,
    [DEV_PKI_FILES.caBundle]: ca.chainPem,
  }
  for (const [file, text] of Object.entries(contents)) {
    const mode = KEY_FILES.has(file) ? 0o600 : 0o644
    await writeFile(join(dir, file), text, { mode })
    await chmod(join(dir, file), mode)
  }
}

async function load(dir: string, created: boolean): Promise<DevPki> {
  const files = Object.fromEntries(Object.entries(DEV_PKI_FILES).map(([k, f]) => [k, join(dir, f)])) as DevPki['files']
  let text: Record<keyof typeof DEV_PKI_FILES, string>
  try {
    const entries = await Promise.all(Object.entries(files).map(async ([k, p]) => [k, await readFile(p, 'utf8')] as const))
    text = Object.fromEntries(entries) as Record<keyof typeof DEV_PKI_FILES, string>
  } catch (err) {
    throw new Error(`dev PKI folder ${dir} is incomplete (${(err as Error).message}); delete it to recreate it`, { cause: err })
  }
  const ca = await importCa({
    rootCertificatePem: text.rootCertificate,
    rootPrivateKeyPem: text.rootPrivateKey,
    intermediateCertificatePem: text.intermediateCertificate,
    intermediatePrivateKeyPem: text.intermediatePrivateKey,
  })
  const server = new X509Certificate(text.serverCertificate)
  if (server.validToDate.getTime() < Date.now()) {
    throw new Error(`dev PKI server certificate in ${dir} expired at ${server.validToDate.toISOString()}; delete the folder to recreate it`)
  }
  return {
    dir,
    created,
    ca,
    server: { certificatePem: text.serverCertificate, privateKeyPem: text.serverPrivateKey, chainPem: text.serverChain },
    rootCertificatePem: text.rootCertificate,
    caBundlePem: text.caBundle,
    files,
  }
}

/**
 * Loads the dev PKI in `dir`, creating it first when the folder is missing or empty: root CA, intermediate CA,
 * a server certificate for `localhost` / `127.0.0.1` / `::1`, and the CA bundle (see {@link DEV_PKI_FILES}).
 * Keys are written with mode 0600. Creation is atomic (built in a sibling temp folder, then renamed), so
 * concurrent callers (parallel test files, `make up`) all end up with the same CA.
 */
export async function loadOrCreateDevPki(dir: string, options: DevPkiOptions = {}): Promise<DevPki> {
  const target = resolve(dir)
  try {
    await readFile(join(target, DEV_PKI_FILES.rootCertificate))
    return await load(target, false)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(dirname(target), { recursive: true })
  const tmp = await mkdtemp(join(dirname(target), `.${basename(target)}.tmp-`))
  try {
    await chmod(tmp, 0o755)
    await writeNew(tmp, options)
    await rename(tmp, target) // replaces a missing or empty folder; fails if another process won the race
    return await load(target, true)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    await rm(tmp, { recursive: true, force: true })
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return load(target, false)
    throw err
  }
}
