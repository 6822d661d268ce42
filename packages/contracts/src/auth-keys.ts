import { z } from 'zod'

/** One of the auth-server's keys, without its private part (`GET /internal/keys`). */
export const SigningKeyInfo = z.object({
  kid: z.string(),
  /** `sig`: PS256 (ID tokens, access tokens, JARM); `enc`: RSA-OAEP (encrypted request objects and ID tokens). */
  use: z.enum(['sig', 'enc']),
  alg: z.string(),
  /** `active`: used now; `retiring`: still published until `retireAt`, then pruned. */
  status: z.enum(['active', 'retiring']),
  createdAt: z.string(),
  retireAt: z.string().nullable(),
})
export type SigningKeyInfo = z.infer<typeof SigningKeyInfo>

/** The auth-server's key set and what its replicas publish. */
export const SigningKeyList = z.object({ keys: z.array(SigningKeyInfo) })
export type SigningKeyList = z.infer<typeof SigningKeyList>

/** `POST /internal/keys/rotate`: a new active pair now; the previous keys stay published for `graceSeconds`. */
export const RotateKeysRequest = z.object({
  graceSeconds: z.number().int().min(0).max(30 * 86_400).default(86_400),
})
export type RotateKeysRequest = z.infer<typeof RotateKeysRequest>

/** What a rotation did. */
export const RotateKeysResult = z.object({ added: z.array(z.string()), retiring: z.array(z.string()), pruned: z.array(z.string()), keys: z.array(SigningKeyInfo) })
export type RotateKeysResult = z.infer<typeof RotateKeysResult>
