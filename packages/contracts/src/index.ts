export { Permission, PERMISSIONS, PERMISSION_GROUPS, PERMISSION_GROUP_NAMES, permissionGroup, isPermission, resourceTypesOf, type PermissionGroup, type PermissionGroupName } from './permissions.ts'
export { QCA_BASE_TPM, parseNfrCsv, nfrTpmFloor, nfrMonthlyFloor, type NfrRow } from './nfr-reference.ts'
export { EventTime, eventEnvelope } from './envelope.ts'
export {
  topics,
  topicSettings,
  ConsentCreated,
  ConsentAuthorised,
  ConsentRejected,
  ConsentExtended,
  ConsentConsumed,
  ConsentEvent,
  ApiCall,
  ApiCallEvent,
  AlertFiring,
  AlertResolved,
  AlertEvent,
  eventSchemas,
  StaffAuditRecorded,
  AuditEvent,
} from './events.ts'
export type { Topic } from './events.ts'
export { OrganisationChanged, SoftwareStatementRevoked, DirectoryEvent } from './directory-events.ts'
export { ApiVersionKey, ApiVersionChanged, ApiCatalogEvent, ClientStatusChanged, ClientEvent } from './operations-events.ts'
export {
  Cpf,
  Cnpj,
  ResourceType,
  ConsentResource,
  ConsentContext,
  CallerContext,
  ConsentStatus,
  InternalConsent,
  AuthoriseConsentRequest,
  RejectConsentRequest,
  RevokeConsentRequest,
  ConsentLookup,
  AuthenticateCustomerRequest,
  AuthenticatedCustomer,
  SelectableResource,
  SelectableResources,
  SsaRefusal,
  VerifySsaRequest,
  VerifiedSsa,
  CertificateRefusal,
  CheckCertificateRequest,
  CheckedCertificate,
  ParticipantCertificate,
  ParticipantCertificates,
  VerifyJwsRequest,
  VerifiedJws,
  OrganisationJwks,
  OrganisationSummary,
} from './internal.ts'
export { LimitKind, TrafficPolicy, TrafficPolicyUpserted, TrafficPolicyDeleted, TrafficPolicyEvent, minuteBucket, monthBucket, trafficKeys } from './traffic.ts'
export { ConsentSearchQuery, ConsentSearchResult, ConsentAuditEntry, ConsentAuditTrail } from './consent-api.ts'
export { CoreAmount, CoreDate, CoreInstant, CoreId, CoreOwner, CoreResourceStatus, CoreSlice, corePage, coreWindow, CoreResourceState, CoreAccountType, CoreAccount, CoreBalances, CoreOverdraftLimits, CoreCreditDebit, CoreAccountTransaction, CoreTransactionQuery, CoreCardAccount, CoreCardLimit, CoreBill, CoreBillQuery, CoreCardTransactionType, CoreCardTransaction, CoreCardTransactionQuery, CoreBillTransactionQuery, CoreDocument, CoreRegistration, CoreLoanContract, CoreWarranty, CoreInstalments, CoreLoanPayments, CoreChannelKind, CoreOfferSegment, CoreAnswers, CorePixKeyType, CorePixAccountType, CorePixAmount, CorePixEndToEndId, CorePixAccount, CorePixKeyEntry, CorePixKeyLookup, CorePixDebit, CorePixStatus, CorePixRejectionCode, CorePixPayment, type CorePixRail, type CoreConnector } from './connector.ts'
export { policyIdOf, parsePolicyId, policyLevel, indexPolicies, candidatePolicyIds, resolveLimit, type PolicyScope, type PolicyLevel, type PolicyIdParts, type PolicyIndex, type LimitQuery, type ResolvedLimit } from './traffic-resolve.ts'
export { PolicyOrganisationId, EndpointKey, PolicyView, PolicyListQuery, PolicyList, UpsertOverride, UpsertOverrideResult, SetPolicyEnabled, SetDefaultsEnabled, SetDefaultsEnabledResult, PolicyChange, PolicyHistory, CatalogueEntry, Catalogue, MinuteUsageQuery, MinuteUsageRow, MinuteUsage, MonthUsageQuery, MonthUsageRow, MonthUsage } from './traffic-admin.ts'
export { CONSENT_ID_RE, RESOURCE_ID_RE } from './ids.ts'
export { PaymentsApiVersion, PaymentConsentStatus, PixPaymentStatus, LocalInstrument, PaymentAccount, InternalPaymentConsent, AuthorisePaymentConsentRequest, ConsumePaymentConsentRequest, VerifyCustomerTotpRequest, VerifyCustomerTotpResult, InternalPayment, PaymentStatusHistoryEntry, InternalPaymentSearchResult, InternalPaymentDetail, CancelPaymentRequest, CancelPaymentResult, ClientWebhookInfo, PaymentCreated, PaymentStatusChanged, PaymentEvent, RecordPaymentApprovalRequest } from './payments.ts'
export { CallSearchQuery, CallRecord, CallSearchResult, CallStoryEntry, CallDetail, NewScheduledOutage, ScheduledOutage } from './trace-api.ts'
export { TraceOverviewQuery, TraceOverview } from './trace-api.ts'
export { SigningKeyInfo, SigningKeyList, RotateKeysRequest, RotateKeysResult } from './auth-keys.ts'
