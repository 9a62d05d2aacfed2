// Issue #11: the server's view holds no participant's display name, identity
// public key or fingerprint, and never the meeting link's secret. A tapped
// three-person meeting with chat; then every file of the tap (signaling.jsonl,
// index.json, the pcaps) and every server log line is searched, byte for byte,
// for each of them in every encoding a server could use. The control run is
// the same meeting with the link envelope switched off (test build,
// `&test=no-link-envelope`): the same search must then find the names and the
// identity keys, or it proves nothing.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { isConfigError, parseConfig } from '../../server/config.ts';
import { startServer } from '../../server/app.ts';
import { createLogger } from '../../server/log.ts';
import { Tap } from '../../server/tap/tap.ts';
import { launchBrowser, openParticipant, tmpDir, withOpenPages } from '../../harness/browser.ts';
import { REPO_ROOT } from '../../harness/server.ts';
import { readSurface, TEST_BUILD_ARGS, waitForSurface } from '../../harness/test-surface.ts';
import { linkSecretFor } from '../../harness/meeting-link.ts';

// Distinctive names (one with a non-ASCII letter, so its JSON-escaped form differs from its UTF-8 form).
const NAMES = ['Zoë Quenneville', 'Bartholomew Xylander', 'Carolina Wyndham-Pryce'];

interface Needle {
  what: string;
  bytes: Buffer;
}

interface Run {
  /** Everything the server saw or wrote: each tap file, and its log. */
  view: { file: string; bytes: Buffer }[];
  needles: { names: Needle[]; secret: Needle[]; identityKeys: Needle[]; fingerprints: Needle[] };
}

/** Every way a server could write a value down. */
function encodings(what: string, raw: Uint8Array): Needle[] {
  const b = Buffer.from(raw);
  const forms: [string, string | Buffer][] = [
    ['raw bytes', b],
    ['hex', b.toString('hex')],
    ['HEX', b.toString('hex').toUpperCase()],
    ['base64', b.toString('base64')],
    ['base64 unpadded', b.toString('base64').replace(/=+$/, '')],
    ['base64url', b.toString('base64url')],
  ];
  return forms.map(([form, v]) => ({ what: `${what} (${form})`, bytes: typeof v === 'string' ? Buffer.from(v) : v }));
}

function nameNeedles(name: string): Needle[] {
  const escaped = JSON.stringify(name).slice(1, -1);
  const asciiEscaped = escaped.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const longest = name.split(/[\s-]/).sort((a, b) => b.length - a.length)[0]!;
  return [
    { what: `name "${name}" (UTF-8)`, bytes: Buffer.from(name) },
    { what: `name "${name}" (JSON-escaped)`, bytes: Buffer.from(asciiEscaped) },
    { what: `name "${name}" (UTF-16LE)`, bytes: Buffer.from(name, 'utf16le') },
    { what: `name part "${longest}"`, bytes: Buffer.from(longest) },
  ];
}

function found(view: Run['view'], needles: Needle[]): string[] {
  return needles.flatMap((n) => view.filter((f) => f.bytes.includes(n.bytes)).map((f) => `${n.what} in ${f.file}`));
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function tappedMeeting(label: string, query: string): Promise<Run> {
  const dir = tmpDir(`server-view-${label}-`);
  const cfg = parseConfig(['--port', '0', '--workers', '1', ...TEST_BUILD_ARGS, '--tap', dir], {}, REPO_ROOT);
  if (isConfigError(cfg)) throw new Error(cfg.message);
  const logLines: string[] = [];
  const serverLog = createLogger('debug', (l) => logLines.push(l));
  const tap = new Tap(dir, serverLog);
  const server = await startServer(cfg, { roomObserver: tap, signalObserver: tap }, serverLog);
  const meeting = `view-${label}-${Date.now()}`;
  const secret = linkSecretFor(meeting);
  const pages: Awaited<ReturnType<typeof openParticipant>>[] = [];
  try {
    for (const name of NAMES) {
      const url = `${server.url}/?meeting=${meeting}&name=${encodeURIComponent(name)}&join=1${query}#s=${secret}`;
      pages.push(await openParticipant(browser, url, name.split(' ')[0]!.toLowerCase()));
    }
    return await withOpenPages(pages, async () => {
      for (const p of pages) {
        await waitForSurface(p.page, (s, n) => s.e2ee.roster.length === n && s.e2ee.state === 'ok', NAMES.length, { timeout: 30_000 });
      }
      for (const [i, p] of pages.entries()) {
        await readSurface(p.page, (s, text) => s.e2ee.sendChat(text), `hello from ${NAMES[i]}`);
      }
      await pages[0]!.page.waitForTimeout(1500);
      const identityKeys: Needle[] = [];
      for (const [i, p] of pages.entries()) {
        const pk = await readSurface(p.page, (s) => Array.from(s.e2ee.identity.publicKey));
        identityKeys.push(...encodings(`identity key of ${NAMES[i]}`, Uint8Array.from(pk)));
      }
      const shown = await readSurface(pages[0]!.page, (s) => s.e2ee.roster.map((m) => m.fingerprint));
      const fingerprints = shown.flatMap((f) => [
        { what: `fingerprint ${f}`, bytes: Buffer.from(f) },
        { what: `fingerprint ${f} (digits)`, bytes: Buffer.from(f.replace(/\s/g, '')) },
      ]);
      for (const p of pages) await p.page.getByTestId('leave').click();
      await pages[0]!.page.waitForTimeout(300);
      await server.close();
      await tap.close();
      const view = [
        ...filesUnder(dir).map((f) => ({ file: path.relative(dir, f), bytes: fs.readFileSync(f) })),
        { file: 'server log', bytes: Buffer.from(logLines.join('\n')) },
      ];
      const base = view.map((f) => path.basename(f.file));
      expect(base).toEqual(expect.arrayContaining(['signaling.jsonl', 'index.json', 'server log']));
      expect(
        view.some((f) => f.file.endsWith('.pcap') && f.bytes.length > 10_000),
        'media was captured',
      ).toBe(true);
      return {
        view,
        needles: {
          names: NAMES.flatMap(nameNeedles),
          secret: encodings('link secret', Buffer.from(secret, 'base64url')),
          identityKeys,
          fingerprints,
        },
      };
    });
  } finally {
    await server.close().catch(() => {});
  }
}

describe("the server's view of a meeting", () => {
  it('holds no display name, identity key, fingerprint or link secret, in any encoding', async () => {
    const r = await tappedMeeting('sealed', '');
    expect(r.needles.fingerprints.length).toBe(6);
    expect(found(r.view, r.needles.names)).toEqual([]);
    expect(found(r.view, r.needles.secret)).toEqual([]);
    expect(found(r.view, r.needles.identityKeys)).toEqual([]);
    expect(found(r.view, r.needles.fingerprints)).toEqual([]);
  }, 120_000);

  it('control: with the link envelope switched off (test build), the same search finds the names and identity keys', async () => {
    const r = await tappedMeeting('control', '&test=no-link-envelope');
    // Each name and each identity key is found: the search would catch a leak.
    for (const name of NAMES) expect(found(r.view, nameNeedles(name)).length, name).toBeGreaterThan(0);
    expect(found(r.view, r.needles.identityKeys).filter((f) => f.includes('(base64url)'))).toHaveLength(3);
    // The secret is never sent, envelope or not (it stays in the fragment and in memory).
    expect(found(r.view, r.needles.secret)).toEqual([]);
  }, 120_000);
});
