// TEMPORARY: the wire encoding moved to wire.ts. Kept only so server/attack/*
// (outside this change's files) still compiles; delete once their import lines
// name wire.ts.
export * from './wire.ts';
