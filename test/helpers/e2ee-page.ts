// Reads the E2EE state a page exposes for tests (window.__e2ee): transform
// path, epoch, security code and the frame worker's counters.

import type { Page } from 'playwright-core';

export interface E2eeSnapshot {
  selfId: string;
  path: string;
  state: string;
  epoch: number;
  securityCode: string;
  roster: string[];
  leaderId: string | undefined;
  sent: { encrypted: number; dropped: Record<string, number> };
  received: Record<string, { decrypted: number; dropped: Record<string, number>; lastKid?: string }>;
  errors: string[];
}

export function e2eeSnapshot(page: Page): Promise<E2eeSnapshot> {
  return page.evaluate(() => {
    type C = {
      state: string;
      epoch: number;
      securityCode: string;
      leaderId: string | undefined;
      roster: { participantId: string }[];
      errors: { code: string }[];
      frames: {
        path: string;
        send: { encrypted: number; dropped: Record<string, number> };
        receive: Map<string, { decrypted: number; dropped: Record<string, number>; lastKid?: bigint }>;
      };
    };
    const w = window as unknown as { __e2ee: C; __meeting: { join?: { participantId: string } } };
    const c = w.__e2ee;
    const received: Record<string, { decrypted: number; dropped: Record<string, number>; lastKid?: string }> = {};
    for (const [id, s] of c.frames.receive) received[id] = { decrypted: s.decrypted, dropped: { ...s.dropped }, lastKid: s.lastKid?.toString() };
    return {
      selfId: w.__meeting.join?.participantId ?? '',
      path: c.frames.path,
      state: c.state,
      epoch: c.epoch,
      securityCode: c.securityCode,
      roster: c.roster.map((m) => m.participantId),
      leaderId: c.leaderId,
      sent: { encrypted: c.frames.send.encrypted, dropped: { ...c.frames.send.dropped } },
      received,
      errors: c.errors.map((e) => e.code),
    };
  });
}
