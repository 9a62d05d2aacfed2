// The test build's one window hook (dist-test/ only): tests, benches and the
// audit demo read the meeting, the E2EE controller and the keys the page held
// through it (harness/test-surface.ts). main.ts installs it behind
// __E2EE_TEST_HOOKS__, so the production build has no trace of it: the
// controller reaches the identity private key and every frame key.

import type { E2eeController } from './e2ee/controller.ts';
import type { Meeting } from './meeting.ts';
import { bytesToHex } from '../../shared/bytes.ts';
import type { RelaySeal } from '../../shared/e2ee/link.ts';

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

/**
 * `&test=no-link-envelope`: relay payloads in clear (names and identity keys
 * readable by the server). Only the control run of the tap search uses it, to
 * show that the search finds what the envelope hides.
 */
export function clearRelayForTest(): RelaySeal {
  console.warn('TEST BUILD: E2EE messages are relayed WITHOUT the meeting link envelope (control run)');
  return {
    seal: (_from, payload) => payload,
    open: (_from, relayed) => ({ ok: true, value: relayed }),
    destroy: () => {},
  };
}
