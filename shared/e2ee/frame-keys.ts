// TEMPORARY: per-sender key derivation moved to sender-keys.ts. Kept only so
// server/attack/spy.ts (outside this change's files) still compiles; delete
// once its import line names sender-keys.ts.
export * from './sender-keys.ts';
