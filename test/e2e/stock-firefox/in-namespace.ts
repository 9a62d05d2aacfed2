// Run by test/e2e/stock-firefox.test.ts inside a network namespace it made
// (`ip netns exec`), never on the host's network: the server with the
// production media defaults (serving localhost; no --rtc-ip unless given as
// arguments) and two stock Firefox pages, without the loopback ICE pref.
// Prints one JSON line: whether each page decrypted the other's media.

import { launchTestBrowser, untilInPage, type TestPage } from '../../../harness/browsers/index.ts';
import { e2eeSnapshot } from '../../../harness/e2ee-page.ts';
import { linkFragment } from '../../../harness/meeting-link.ts';
import { startTestBuildServer } from '../../../harness/server.ts';
import { joinedAs } from '../../../harness/test-surface.ts';

const waitMs = Number(process.env['STOCK_FIREFOX_WAIT_MS'] ?? 20_000);
const server = await startTestBuildServer(process.argv.slice(2), {}, {});
const firefox = await launchTestBrowser('firefox', { loopbackIce: false });
const meeting = `stock-ff-${Date.now()}`;
const pages: { page: TestPage; id: string }[] = [];
const result: Record<string, unknown> = { server: server.url };
try {
  for (const name of ['Ada', 'Bo']) {
    const page = await firefox.newPage(`${server.url}/?meeting=${meeting}&name=${name}&join=1${linkFragment(meeting)}`, name);
    pages.push({ page, id: await joinedAs(page, 30_000) });
  }
  const decrypted = async (): Promise<number[]> => {
    const [a, b] = await Promise.all(pages.map((p) => e2eeSnapshot(p.page)));
    return [a!.received[pages[1]!.id]?.decrypted ?? 0, b!.received[pages[0]!.id]?.decrypted ?? 0];
  };
  // Until both decrypt, or the page reports that the media connection failed (ICE gave up).
  const failed = (): Promise<boolean> =>
    Promise.all(pages.map((p) => p.page.evaluate(`document.body.textContent.includes('Media connection')`))).then((v) => v.some(Boolean));
  const deadline = Date.now() + waitMs;
  let counts = await decrypted();
  while (Date.now() < deadline && Math.min(...counts) <= 30 && !(await failed())) {
    await new Promise((r) => setTimeout(r, 500));
    counts = await decrypted();
  }
  result['decrypted'] = counts;
  result['candidates'] = await untilInPage(pages[0]!.page, () =>
    Promise.all(
      ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).map(async (pc) => {
        const out: string[] = [];
        (await pc.getStats()).forEach((s: Record<string, unknown>) => {
          if (s['type'] === 'remote-candidate') out.push(`${String(s['address'])}:${String(s['port'])}/${String(s['protocol'])}`);
        });
        return out.join(' ');
      }),
    ),
  );
  result['alerts'] = await untilInPage(
    pages[0]!.page,
    () =>
      [...document.querySelectorAll('[data-testid=alerts] .alert, .fatal, [data-testid=meeting-error]')]
        .map((e) => e.textContent ?? '')
        .join(' | ') || ' ',
  );
} catch (e) {
  result['error'] = e instanceof Error ? e.message : String(e);
  result['logs'] = pages.flatMap((p) => p.page.logs).slice(-20);
} finally {
  for (const p of pages) await p.page.close().catch(() => {});
  await firefox.close();
  await server.close();
}
console.log(JSON.stringify(result));
