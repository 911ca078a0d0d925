/**
 * Mail-in-a-Box admin API emulator for tests: see /work/shared/spec/miab-api.md for the
 * behaviour it imitates.
 */
export { startEmulator, DEFAULT_NAMESERVERS } from './server.js';
export { currentTotp, totpAtStep, totpStep, verifyTotp, TOTP_STEP_MS } from './totp.js';
export type {
  AuthKind,
  CustomRecord,
  EmulatorFlavor,
  EmulatorOptions,
  EmulatorUser,
  Fault,
  FaultMatch,
  MiabEmulator,
  RequestLogEntry,
  SecondaryOptions,
  UserPatch,
} from './types.js';
