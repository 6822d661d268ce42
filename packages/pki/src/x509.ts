// Internal: the one place that loads @peculiar/x509. The library (through tsyringe) needs a Reflect metadata
// polyfill loaded before it, and a WebCrypto provider; Node's global WebCrypto is used.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(globalThis.crypto)

export { x509 }
