// The test build's one window hook (dist-test/ only): tests, benches and the
// audit demo read the meeting, the E2EE controller and the keys the page held
// through it (harness/test-surface.ts). main.ts installs it behind
// __E2EE_TEST_HOOKS__, so the production build has no trace of it: the
// controller reaches the identity private key and every frame key.

import type { E2eeController } from './e2ee/controller.ts';
import type { Meeting } from './meeting.ts';
import { bytesToHex } from '../../shared/bytes.ts';

/** The window property the test build puts the surface on. */
export const TEST_SURFACE_GLOBAL = '__blindMeetTestSurface';

export interface KeyRecord {
  label: string;
  hex: string;
}

export interface TestSurface {
  readonly meeting: Meeting;
  readonly e2ee: E2eeController;
  /** Every key this page held, for the blindness audit's key search. */
  readonly keys: KeyRecord[];
}

/** Collects the keys the controller reports (its secret sink) as hex, in the order they were held. */
export function createKeyLog(): { keys: KeyRecord[]; record: (label: string, bytes: Uint8Array) => void } {
  const keys: KeyRecord[] = [];
  const record = (label: string, bytes: Uint8Array): void => {
    keys.push({ label, hex: bytesToHex(bytes) });
  };
  return { keys, record };
}

export function installTestSurface(surface: TestSurface): void {
  (window as unknown as Record<string, TestSurface>)[TEST_SURFACE_GLOBAL] = surface;
}
