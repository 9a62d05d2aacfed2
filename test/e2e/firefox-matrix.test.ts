// The browser matrix (#14): Firefox ESR (puppeteer-core over WebDriver BiDi)
// beside Chromium (playwright-core), one test body for both. Two Firefox
// pages; a mixed Chromium + Firefox meeting decoding both ways under one
// security code; a three-person mixed meeting through a key rotation; and a
// Firefox receiver with the wrong key. Firefox's VP8 decoder turns a few
// undecryptable frames into garbage "decoded" frames, so decryption is proven
// by the frame worker's counters and against the wrong-key control, not by
// framesDecoded > 0.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { cameraOverride, resultsDir, videoFramesDecodedFrom } from '../../harness/browser.ts';
import { inPage, launchTestBrowser, untilInPage, withTestPages, type TestBrowser, type TestPage } from '../../harness/browsers/index.ts';
import { e2eeSnapshot, type E2eeSnapshot } from '../../harness/e2ee-page.ts';
import { linkFragment } from '../../harness/meeting-link.ts';
import { startTestBuildServer } from '../../harness/server.ts';
import { joinedAs } from '../../harness/test-surface.ts';

let server: RunningServer;
let firefox: TestBrowser;
let chromium: TestBrowser;

beforeAll(async () => {
  server = await startTestBuildServer();
  // No skip: a missing or broken firefox-esr fails every test here.
  [firefox, chromium] = await Promise.all([launchTestBrowser('firefox'), launchTestBrowser('chromium')]);
});
afterAll(async () => {
  await firefox?.close();
  await chromium?.close();
  await server?.close();
});

// Small video: up to three encoding pages share two cores with the server.
const SMALL_CAMERA = cameraOverride('320x240@15');

async function join(browser: TestBrowser, meeting: string, name: string, extra = ''): Promise<{ page: TestPage; id: string }> {
  const url = `${server.url}/?meeting=${meeting}&name=${name}&join=1${extra}${linkFragment(meeting)}`;
  const page = await browser.newPage(url, `${browser.name} ${name}`, { initScripts: [SMALL_CAMERA] });
  return { page, id: await joinedAs(page, 30_000) };
}

const okTiles = (page: TestPage, n: number) =>
  untilInPage(page, (want) => document.querySelectorAll('[data-testid=tile][data-e2ee=ok]').length === want, n, {
    timeout: 30_000,
    what: `${n} tile(s) with data-e2ee=ok`,
  });

/** Waits until every page holds the same epoch (above `above`) and the same security code; returns their snapshots. */
async function converged(pages: TestPage[], above = 0): Promise<E2eeSnapshot[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const snaps = await Promise.all(pages.map((p) => e2eeSnapshot(p)));
    const same = new Set(snaps.map((s) => `${s.epoch}/${s.securityCode}`)).size === 1;
    if (same && snaps[0]!.epoch > above && snaps.every((s) => s.state === 'ok' && s.roster.length === pages.length)) return snaps;
    if (Date.now() > deadline)
      throw new Error(`no common epoch and code: ${JSON.stringify(snaps.map((s) => [s.epoch, s.state, s.securityCode]))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const decryptedFrom = (page: TestPage, from: string) => e2eeSnapshot(page).then((s) => s.received[from]?.decrypted ?? 0);

/** Each page's frame worker decrypts a growing number of frames from every other page, and decodes video from it. */
async function decodingEachOther(members: { page: TestPage; id: string }[]): Promise<void> {
  for (const m of members) {
    for (const other of members) {
      if (other === m) continue;
      const before = await decryptedFrom(m.page, other.id);
      await expect.poll(() => decryptedFrom(m.page, other.id), { timeout: 15_000, interval: 300 }).toBeGreaterThan(before + 30);
      await expect.poll(() => videoFramesDecodedFrom(m.page, other.id), { timeout: 15_000, interval: 300 }).toBeGreaterThan(10);
    }
  }
}

function shot(page: TestPage, name: string): Promise<void> {
  return page.screenshot(path.join(resultsDir(), name));
}

describe('Firefox', () => {
  it('shows the pre-join screen', async () => {
    const page = await firefox.newPage(`${server.url}/`, 'firefox prejoin');
    await withTestPages([page], async () => {
      await untilInPage(page, () => document.querySelector('[data-testid=name-input]') !== null, null, { what: 'the pre-join form' });
      expect(await inPage(page, () => document.querySelector('[data-testid=unsupported-browser]') === null)).toBe(true);
      await shot(page, 'firefox-prejoin.png');
    });
  });

  it('two Firefox pages key one meeting, show one security code and decrypt and decode each other', async () => {
    const meeting = `ff-two-${Date.now()}`;
    const a = await join(firefox, meeting, 'Ffion');
    const b = await join(firefox, meeting, 'Fred');
    await withTestPages([a.page, b.page], async () => {
      for (const p of [a.page, b.page]) await okTiles(p, 1);
      const [sa] = await converged([a.page, b.page]);
      expect(sa!.path).toBe('script-transform');
      expect(sa!.securityCode).toMatch(/\d/);
      expect(await inPage(a.page, () => document.querySelector('[data-testid=security-code]')?.textContent)).toBe(sa!.securityCode);
      await decodingEachOther([a, b]);
      await shot(a.page, 'firefox-meeting.png');
      // The other screens, in Firefox too: the security panel with the code, and a chat message received.
      await inPage(a.page, () => (document.querySelector('[data-testid=security-panel-toggle]') as HTMLElement).click());
      await expect
        .poll(() => inPage(a.page, () => document.querySelector('[data-testid=security-panel]')?.textContent ?? ''))
        .toContain(sa!.securityCode);
      await shot(a.page, 'firefox-security-panel.png');
      const text = 'Firefox to Firefox ✓';
      for (const p of [a.page, b.page]) await inPage(p, () => (document.querySelector('[data-testid=chat-toggle]') as HTMLElement).click());
      await inPage(
        a.page,
        (t) => {
          const input = document.querySelector('[data-testid=chat-input]') as HTMLInputElement;
          input.value = t;
          input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
        },
        text,
      );
      await expect
        .poll(() => inPage(b.page, () => document.querySelector('[data-testid=chat-log] li:last-child .text')?.textContent ?? ''))
        .toBe(text);
      await shot(b.page, 'firefox-chat.png');
    });
  });

  it('a Firefox receiver with the wrong key decrypts nothing, decodes far fewer frames than an honest one, and says failing', async () => {
    const meeting = `ff-wrongkey-${Date.now()}`;
    const a = await join(firefox, meeting, 'Honest');
    const b = await join(firefox, meeting, 'Mallory', '&test=wrong-key');
    await withTestPages([a.page, b.page], async () => {
      // Control in the same meeting: the honest page decrypts and decodes Mallory's video.
      await expect.poll(() => decryptedFrom(a.page, b.id), { timeout: 20_000, interval: 300 }).toBeGreaterThan(50);
      await new Promise((r) => setTimeout(r, 2000));
      const [sa, sb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
      const honest = await videoFramesDecodedFrom(a.page, b.id);
      const wrong = await videoFramesDecodedFrom(b.page, a.id);
      console.log(
        `firefox wrong-key: honest decoded ${honest}, wrong-key decoded ${wrong}, drops ${JSON.stringify(sb.received[sa.selfId])}`,
      );
      expect(sb.received[sa.selfId]?.decrypted ?? 0).toBe(0);
      expect(sb.received[sa.selfId]?.dropped['AUTH_FAILED'] ?? 0).toBeGreaterThan(50);
      expect(honest).toBeGreaterThan(30);
      expect(wrong).toBeLessThan(honest / 4);
      await untilInPage(b.page, () => document.querySelector('[data-testid=tile]')?.getAttribute('data-e2ee') === 'failing', null, {
        what: 'the tile to say failing',
      });
      await shot(b.page, 'firefox-wrong-key.png');
    });
  });
});

describe('mixed meetings (Chromium and Firefox)', () => {
  it('one Chromium and one Firefox page hold one security code and decrypt and decode each other both ways', async () => {
    const meeting = `mixed-two-${Date.now()}`;
    const c = await join(chromium, meeting, 'Chloe');
    const f = await join(firefox, meeting, 'Felix');
    await withTestPages([c.page, f.page], async () => {
      for (const p of [c.page, f.page]) await okTiles(p, 1);
      await converged([c.page, f.page]);
      await decodingEachOther([c, f]);
      await shot(c.page, 'mixed-meeting-chromium.png');
      await shot(f.page, 'mixed-meeting-firefox.png');
    });
  });

  it('three people, mixed: all converge on one epoch and code, and after one leaves the others rotate and keep decoding', async () => {
    const meeting = `mixed-three-${Date.now()}`;
    const a = await join(chromium, meeting, 'Ann');
    const b = await join(firefox, meeting, 'Bea');
    const c = await join(firefox, meeting, 'Cyd');
    await withTestPages([a.page, b.page, c.page], async () => {
      for (const p of [a.page, b.page, c.page]) await okTiles(p, 2);
      const three = await converged([a.page, b.page, c.page]);
      await decodingEachOther([a, b, c]);
      await shot(b.page, 'mixed-three-firefox.png');

      await inPage(c.page, () => (document.querySelector('[data-testid=leave]') as HTMLElement).click());
      const two = await converged([a.page, b.page], three[0]!.epoch);
      expect(two[0]!.securityCode).not.toBe(three[0]!.securityCode);
      expect(two[0]!.roster).not.toContain(c.id);
      await decodingEachOther([a, b]);
      // Frames from each remaining sender decrypt under the new epoch (KID = epoch << 16 | …).
      const [sa, sb] = await Promise.all([e2eeSnapshot(a.page), e2eeSnapshot(b.page)]);
      expect(BigInt(sa.received[b.id]!.lastKid!) >> 16n).toBe(BigInt(sa.epoch));
      expect(BigInt(sb.received[a.id]!.lastKid!) >> 16n).toBe(BigInt(sb.epoch));
    });
  });
});

/** Init script: the browser lacks both encoded-transform APIs, as an old or unsupported browser would. */
const WITHOUT_ENCODED_TRANSFORMS = `(() => {
  delete window.RTCRtpScriptTransform;
  if (window.RTCRtpSender) delete RTCRtpSender.prototype.createEncodedStreams;
})();`;

/** Init script: getUserMedia answers only when the test calls window.__answerMedia(), like a pending permission prompt. */
const PENDING_PERMISSION = `(() => {
  const md = navigator.mediaDevices;
  const real = md.getUserMedia.bind(md);
  let answer;
  const answered = new Promise((r) => (answer = r));
  window.__answerMedia = () => answer();
  md.getUserMedia = (c) => answered.then(() => real(c));
})();`;

describe('browser support screens', () => {
  it.each(['chromium', 'firefox'] as const)(
    'a %s without encoded transforms gets the unsupported screen, naming what is missing and the browsers that work, instead of the pre-join form',
    async (name) => {
      const browser = name === 'chromium' ? chromium : firefox;
      const meeting = `unsupported-${Date.now()}`;
      const page = await browser.newPage(`${server.url}/?meeting=${meeting}${linkFragment(meeting)}`, `${name} una`, {
        initScripts: [WITHOUT_ENCODED_TRANSFORMS],
      });
      await withTestPages([page], async () => {
        const screen = await untilInPage(page, () => {
          const el = document.querySelector('[data-testid=unsupported-browser]');
          return el && { missing: el.getAttribute('data-missing'), text: el.textContent ?? '' };
        });
        expect(screen.missing).toBe('encoded-transform');
        expect(screen.text).toContain('RTCRtpScriptTransform');
        expect(screen.text).toMatch(/Chromium-based.*Firefox.*Safari.*untested/);
        expect(await inPage(page, () => document.querySelector('[data-testid=name-input]'))).toBeNull();
        if (name === 'firefox') await shot(page, 'firefox-unsupported-browser.png');
      });
    },
  );

  it('a Firefox join link opened in a background tab says to click the tab, and joins once the tab is in front', async () => {
    const meeting = `background-${Date.now()}`;
    const front = await firefox.newPage(`${server.url}/`, 'firefox front');
    const back = await firefox.newPage(`${server.url}/?meeting=${meeting}&name=Bao&join=1${linkFragment(meeting)}`, 'firefox back', {
      front: false,
    });
    await withTestPages([front, back], async () => {
      await untilInPage(back, () => document.querySelector('[data-testid=media-wait]')?.getAttribute('data-reason') === 'focus', null, {
        what: 'the click-this-tab note',
      });
      expect(await inPage(back, () => document.querySelector('[data-testid=media-wait]')?.textContent)).toContain('Click this tab to join');
      await back.bringToFront();
      await joinedAs(back, 30_000);
      expect(await inPage(back, () => document.querySelector('[data-testid=media-wait]'))).toBeNull();
    });
  });

  it('a join link waiting for camera and microphone permission says so, and joins once they are answered', async () => {
    const meeting = `permission-${Date.now()}`;
    const page = await firefox.newPage(`${server.url}/?meeting=${meeting}&name=Pia&join=1${linkFragment(meeting)}`, 'firefox pia', {
      initScripts: [PENDING_PERMISSION],
    });
    await withTestPages([page], async () => {
      await untilInPage(
        page,
        () => document.querySelector('[data-testid=media-wait]')?.getAttribute('data-reason') === 'permission',
        null,
        {
          what: 'the permission note',
        },
      );
      expect(await inPage(page, () => document.querySelector('[data-testid=media-wait]')?.textContent)).toContain(
        'Waiting for camera and microphone permission',
      );
      await shot(page, 'firefox-waiting-for-permission.png');
      await inPage(page, () => (window as unknown as { __answerMedia: () => void }).__answerMedia());
      await joinedAs(page, 30_000);
    });
  });
});
