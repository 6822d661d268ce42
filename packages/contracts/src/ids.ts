/**
 * Identifier patterns of the OFB specs, defined once for every service that checks them.
 */

/** A consent id (consents-v3.3.1 `consentId`): `urn:<bank namespace>:<id>`. */
export const CONSENT_ID_RE = /^urn:[a-zA-Z0-9][a-zA-Z0-9-]{0,31}:[a-zA-Z0-9()+,\-.:=@;$_!*'%/?#]+$/

/** A public resource id (`accountId`, `creditCardAccountId`, `contractId`, …): letters, digits and hyphens, at most 100. */
export const RESOURCE_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$/
