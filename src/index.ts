/**
 * miab-dns01's library API. Importing it has no side effects; heavy modules (acme-client) load
 * only when a certificate is issued.
 */
export { issueCertificate, normalizeIssueDomains, KEY_TYPES, LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING } from './acme/issue.js';
export type { IssueCertificateOptions, KeyType } from './acme/issue.js';
export type { IssuedCertificate } from './acme/certificate-files.js';
export { createDns01Challenge } from './acme/dns01-challenge.js';
export type { Dns01Challenge, Dns01ChallengeOptions, AcmeAuthorization, AcmeChallenge } from './acme/dns01-challenge.js';
export { openRuntime, usingRuntime } from './runtime.js';
export type { Runtime, RuntimeOptions } from './runtime.js';
export type { Environment, SettingName, SettingOrigins, Settings } from './config/settings.js';
export type { PropagationSettings } from './propagation/settings.js';
export type { DnsServer, ServerSpec } from './propagation/address.js';
export type { RetryPolicy } from './providers/index.js';
export { Journal } from './records/journal.js';
export type { JournalEntry } from './records/journal.js';
export { ChallengeEngine } from './challenge/engine.js';
export type { ChallengeEngineOptions, ChallengeInput, ChallengeRecord, ChallengeTarget, CleanupResult, RecordsWaiter, UndoOutcome } from './challenge/engine.js';
export { parseChallengeName, txtValueFromKeyAuthorization, validateTxtValue } from './challenge/names.js';
export type { ChallengeName } from './challenge/names.js';
export type { ListingTxtRecordStore, StoreCallOptions, TxtRecordStore } from './records/store.js';
export { canListTxt } from './records/store.js';
export type { AddressRecords, AddressRecordStore, AddressRecordType, DnsProvider, ProviderCheck, ProviderCheckOptions, ProviderLogout } from './providers/provider.js';
export { providerFromStore } from './providers/store-provider.js';
export type { StoreProviderOptions } from './providers/store-provider.js';
export { PROVIDER_NAMES } from './config/config.js';
export type { ProviderName, RuntimeConfig } from './config/config.js';
export { MemoryRecordStore } from './records/memory-store.js';
export {
  MiabDns01Error,
  ConfigError,
  AuthError,
  BoxApiError,
  PropagationError,
  AcmeError,
  isMiabDns01Error,
  unsafeToDeleteOf,
  ERROR_CODES,
} from './errors.js';
export type { ErrorCode, ErrorCodeInfo, MiabDns01ErrorOptions, UnsafeToDelete, UsageErrorCode, OperationErrorCode, SignalErrorCode, NameserverReport } from './errors.js';
export { stderrLogger, silentLogger } from './util/log.js';
export type { Logger, StderrLoggerOptions } from './util/log.js';
