// Internal: a minimal DER reader/writer, enough to walk an X.501 Name and to build an otherName SAN.

interface Tlv {
  readonly tag: number
  readonly start: number
  readonly valueStart: number
  readonly end: number
}

function readTlv(buf: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new Error('DER: truncated element')
  const tag = buf[offset]!
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: high tag numbers are not supported')
  let len = buf[offset + 1]!
  let valueStart = offset + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4) throw new Error('DER: unsupported length encoding')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + buf[valueStart + i]!
    valueStart += n
  }
  const end = valueStart + len
  if (end > limit) throw new Error('DER: element overruns its container')
  return { tag, start: offset, valueStart, end }
}

function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let off = parent.valueStart; off < parent.end; ) {
    const el = readTlv(buf, off, parent.end)
    out.push(el)
    off = el.end
  }
  return out
}

function decodeOid(bytes: Uint8Array): string {
  const parts: number[] = []
  let value = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    value = value * 128 + (b & 0x7f)
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2
        parts.push(first, value - first * 40)
      } else {
        parts.push(value)
      }
      value = 0
    }
  }
  return parts.join('.')
}

function decodeString(tag: number, bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes)
  switch (tag) {
    case 0x0c: // UTF8String
      return b.toString('utf8')
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
      return b.toString('ascii')
    case 0x14: // TeletexString (treated as Latin-1)
      return b.toString('latin1')
    case 0x1e: // BMPString (UTF-16BE)
      return Buffer.from(b).swap16().toString('utf16le')
    case 0x1c: {
      // UniversalString (UTF-32BE)
      let s = ''
      for (let i = 0; i + 3 < b.length; i += 4) s += String.fromCodePoint(b.readUInt32BE(i))
      return s
    }
    default:
      return undefined
  }
}

/** One attribute of a distinguished name, with its raw DER value. */
export interface NameAttribute {
  readonly oid: string
  /** ASN.1 tag of the value (0x0C UTF8String, 0x13 PrintableString, ...). */
  readonly tag: number
  /** Decoded text, or undefined when the value is not a string type. */
  readonly value: string | undefined
  /** The full DER TLV of the value. */
  readonly valueDer: Uint8Array
}

/** Parses a DER `Name` into its RDNs (in encoded order), each a list of attributes. */
export function parseName(der: Uint8Array): NameAttribute[][] {
  const root = readTlv(der, 0, der.length)
  if (root.tag !== 0x30) throw new Error('DER: Name is not a SEQUENCE')
  return children(der, root).map((set) => {
    if (set.tag !== 0x31) throw new Error('DER: RDN is not a SET')
    return children(der, set).map((atv) => {
      const [type, value] = children(der, atv)
      if (!type || !value || type.tag !== 0x06) throw new Error('DER: bad AttributeTypeAndValue')
      const valueBytes = der.subarray(value.valueStart, value.end)
      return {
        oid: decodeOid(der.subarray(type.valueStart, type.end)),
        tag: value.tag,
        value: decodeString(value.tag, valueBytes),
        valueDer: der.subarray(value.start, value.end),
      }
    })
  })
}

const RFC4514_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
}

function escapeRfc4514(value: string): string {
  let out = value.replace(/[\\"+,;<>]/g, (c) => `\\${c}`).replace(/\0/g, '\\00')
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `
  return out
}

/**
 * Formats a parsed Name as an RFC 4514 string: RDNs in reverse encoded order, the RFC 4514 short names for the
 * attribute types it lists, and `OID=#<hex of the DER value>` for every other type. This is the form the Open
 * Finance Brasil directory uses for `tls_client_auth_subject_dn`.
 */
export function formatRfc4514(rdns: readonly (readonly NameAttribute[])[]): string {
  return [...rdns]
    .reverse()
    .map((rdn) =>
      rdn
        .map((a) => {
          const short = RFC4514_NAMES[a.oid]
          if (short !== undefined && a.value !== undefined) return `${short}=${escapeRfc4514(a.value)}`
          return `${a.oid}=#${Buffer.from(a.valueDer).toString('hex').toUpperCase()}`
        })
        .join('+'),
    )
    .join(',')
}

function encodeLength(len: number): number[] {
  if (len < 0x80) return [len]
  const bytes: number[] = []
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff)
  return [0x80 | bytes.length, ...bytes]
}

/** Encodes one DER element. */
export function derEncode(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...encodeLength(content.length), ...content])
}

/** Encodes a dotted OID as a DER OBJECT IDENTIFIER. */
export function derOid(oid: string): Uint8Array {
  const nums = oid.split('.').map(Number)
  const [a = 0, b = 0, ...rest] = nums
  const bytes: number[] = []
  for (const n of [a * 40 + b, ...rest]) {
    const chunk: number[] = [n & 0x7f]
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80)
    bytes.push(...chunk)
  }
  return derEncode(0x06, Uint8Array.from(bytes))
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts))
}

/** Returns the DER of the subject `Name` of a DER certificate. */
export function certificateSubjectDer(cert: Uint8Array): Uint8Array {
  const certificate = readTlv(cert, 0, cert.length)
  const [tbs] = children(cert, certificate)
  if (certificate.tag !== 0x30 || !tbs || tbs.tag !== 0x30) throw new Error('DER: not a certificate')
  const fields = children(cert, tbs)
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0 // optional [0] version
  const subject = fields[offset + 4] // serialNumber, signature, issuer, validity, subject
  if (!subject || subject.tag !== 0x30) throw new Error('DER: certificate has no subject')
  return cert.subarray(subject.start, subject.end)
}
