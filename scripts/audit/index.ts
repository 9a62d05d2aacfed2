// Public API of the tap audit (the CLI is scripts/audit.ts).

export { auditTap, AuditInputError } from './audit.ts';
export type { AuditOptions, AuditSummary, InstanceAudit, KeyHit, KeySearchSummary, KeySpec, ProducerAudit, Verdict } from './types.ts';
export { VIDEO_P_VALUE, VIDEO_MIN_IDENTICAL, AUDIO_RATIO_THRESHOLD, AUDIO_MIN_WINDOWS } from './criteria.ts';
