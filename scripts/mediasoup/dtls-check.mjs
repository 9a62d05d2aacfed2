// Real DTLS/SRTP check for the mediasoup-worker built by build-worker.sh.
//
// Starts a mediasoup worker + router + WebRtcTransport (UDP on 127.0.0.1) and
// connects headless Debian Chromium to it with a hand-built SDP answer (the
// transport is ICE-lite, so only the browser runs ICE checks). Chromium sends
// a fake-microphone opus track (mid 0, producer on the server) and receives it
// back through a consumer on the same transport (mid 1). This exercises:
//   - the DTLS handshake (a worker with the kTLS BIO bug segfaults here),
//   - SRTP decryption (producer receives RTP) and encryption (browser
//     receives the consumer's RTP), i.e. the libsrtp2 adaptation.
//
// Usage: node scripts/mediasoup/dtls-check.mjs
//   Exit 0: DTLS connected and media flowed both ways.
//   Exit 1: failure (message on stderr).
//   CHROMIUM_PATH overrides /usr/bin/chromium.
import http from 'node:http';
import * as mediasoup from 'mediasoup';
import { chromium } from 'playwright-core';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DTLS_TIMEOUT_MS = 20_000;
const MEDIA_TIMEOUT_MS = 15_000;

const t0 = Date.now();
const log = (msg) => {
  if (!failed) console.log(`[dtls-check] +${Date.now() - t0}ms ${msg}`);
};

let worker;
let browser;
let server;
let failed = false;

async function cleanup() {
  await browser?.close().catch(() => {});
  worker?.close();
  server?.close();
}

async function fail(msg) {
  if (failed) return;
  failed = true;
  console.error(`[dtls-check] FAIL: ${msg}`);
  await cleanup();
  process.exit(1);
}

const hardTimeout = setTimeout(() => fail('timed out'), DTLS_TIMEOUT_MS + MEDIA_TIMEOUT_MS + 30_000);

function waitFor(predicate, timeoutMs, what, intervalMs = 200) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = async () => {
      if (failed) return;
      try {
        const value = await predicate();
        if (value) return resolve(value);
      } catch (error) {
        return reject(error);
      }
      if (Date.now() - started > timeoutMs) {
        return reject(new Error(`timed out waiting for ${what}`));
      }
      setTimeout(tick, intervalMs);
    };
    tick();
  });
}

// Splits an SDP into its session part and media sections.
function parseSdp(sdp) {
  const lines = sdp.split(/\r?\n/).filter(Boolean);
  const session = [];
  const media = [];
  for (const line of lines) {
    if (line.startsWith('m=')) media.push([line]);
    else if (media.length) media[media.length - 1].push(line);
    else session.push(line);
  }
  const attr = (section, name) => {
    const prefix = `a=${name}:`;
    const line = section.find((l) => l.startsWith(prefix));
    return line ? line.slice(prefix.length) : undefined;
  };
  return { session, media, attr };
}

function buildAnswer({ transport, opusPt, consumer, offerMids }) {
  const { iceParameters, iceCandidates, dtlsParameters } = transport;
  const fp = dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  const candidates = iceCandidates.map(
    (c) => `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}`,
  );
  const common = (mid) => [
    `m=audio 7 UDP/TLS/RTP/SAVPF ${opusPt}`,
    'c=IN IP4 127.0.0.1',
    `a=ice-ufrag:${iceParameters.usernameFragment}`,
    `a=ice-pwd:${iceParameters.password}`,
    `a=fingerprint:${fp.algorithm} ${fp.value}`,
    // The server (mediasoup) is the DTLS server; the browser is the client.
    'a=setup:passive',
    ...candidates,
    'a=end-of-candidates',
    `a=mid:${mid}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
    `a=rtpmap:${opusPt} opus/48000/2`,
    `a=fmtp:${opusPt} minptime=10;useinbandfec=1`,
  ];
  const consumerSsrc = consumer.rtpParameters.encodings[0].ssrc;
  const consumerCname = consumer.rtpParameters.rtcp.cname;
  return [
    'v=0',
    'o=mediasoup-dtls-check 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${offerMids.join(' ')}`,
    'a=msid-semantic: WMS *',
    // mid 0: the browser sends, the server receives.
    ...common(offerMids[0]),
    'a=recvonly',
    // mid 1: the server sends (consumer), the browser receives.
    ...common(offerMids[1]),
    'a=sendonly',
    'a=msid:dtls-check-stream dtls-check-track',
    `a=ssrc:${consumerSsrc} cname:${consumerCname}`,
    '',
  ].join('\r\n');
}

try {
  // Worker, router, transport.
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  worker.on('died', (error) => fail(`mediasoup worker (pid ${worker.pid}) died: ${error?.message ?? error}`));
  log(`mediasoup ${mediasoup.version} worker pid ${worker.pid}`);

  // A page served from 127.0.0.1 is a secure context (getUserMedia works).
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>dtls-check</title><body>dtls-check</body>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${server.address().port}/`;

  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
    ],
  });
  log(`chromium ${browser.version()} launched`);
  const page = await browser.newPage();
  page.on('pageerror', (error) => log(`page error: ${error.message}`));
  await page.goto(pageUrl);

  const offerSdp = await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    window.pc = pc;
    pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription.sdp;
  });

  const offer = parseSdp(offerSdp);
  if (offer.media.length !== 2) throw new Error(`unexpected offer:\n${offerSdp}`);
  const offerMids = offer.media.map((m) => offer.attr(m, 'mid'));
  const fpAttr = offer.attr(offer.media[0], 'fingerprint') ?? offer.attr(offer.session, 'fingerprint');
  const [fpAlgorithm, fpValue] = fpAttr.split(' ');
  const opusPt = Number(offer.media[0].find((l) => /^a=rtpmap:\d+ opus\/48000\/2$/i.test(l))?.match(/^a=rtpmap:(\d+)/)[1]);
  const ssrcLine = offer.media[0].find((l) => /^a=ssrc:\d+ cname:/.test(l));
  if (!opusPt || !ssrcLine) throw new Error(`no opus or ssrc in offer:\n${offerSdp}`);
  const [, producerSsrc, producerCname] = ssrcLine.match(/^a=ssrc:(\d+) cname:(\S+)/);

  const router = await worker.createRouter({
    mediaCodecs: [
      { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: opusPt },
      { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
    ],
  });
  const transport = await router.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  });
  const cand = transport.iceCandidates[0];
  log(`transport ${cand.protocol} ${cand.address}:${cand.port}`);

  transport.on('icestatechange', (state) => log(`server ICE state: ${state}`));
  transport.on('dtlsstatechange', (state) => {
    log(`server DTLS state: ${state}`);
    if (state === 'failed' || state === 'closed') fail(`DTLS state ${state}`);
  });

  await transport.connect({
    dtlsParameters: {
      role: 'client',
      fingerprints: [{ algorithm: fpAlgorithm.toLowerCase(), value: fpValue }],
    },
  });

  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [
        {
          mimeType: 'audio/opus',
          payloadType: opusPt,
          clockRate: 48000,
          channels: 2,
          parameters: { minptime: 10, useinbandfec: 1 },
          rtcpFeedback: [],
        },
      ],
      headerExtensions: [],
      encodings: [{ ssrc: Number(producerSsrc) }],
      rtcp: { cname: producerCname, reducedSize: true },
    },
  });
  const consumer = await transport.consume({
    producerId: producer.id,
    rtpCapabilities: {
      codecs: [
        {
          kind: 'audio',
          mimeType: 'audio/opus',
          preferredPayloadType: opusPt,
          clockRate: 48000,
          channels: 2,
          parameters: {},
          rtcpFeedback: [],
        },
      ],
      headerExtensions: [],
    },
  });

  const answerSdp = buildAnswer({ transport, opusPt, consumer, offerMids });
  await page.evaluate((sdp) => window.pc.setRemoteDescription({ type: 'answer', sdp }), answerSdp);
  log('answer applied, waiting for ICE + DTLS');

  await waitFor(() => transport.dtlsState === 'connected', DTLS_TIMEOUT_MS, 'DTLS connected');
  const browserState = await page.evaluate(() => window.pc.connectionState);
  log(`DTLS connected (browser connectionState: ${browserState})`);

  // SRTP decrypt on the server: the producer receives the browser's RTP.
  const producerBytes = await waitFor(
    async () => {
      const stats = await producer.getStats();
      const bytes = stats.reduce((sum, s) => sum + (s.byteCount ?? 0), 0);
      return bytes > 0 ? bytes : 0;
    },
    MEDIA_TIMEOUT_MS,
    'RTP received by the producer (SRTP decrypt)',
  );
  log(`producer received ${producerBytes} bytes of RTP (SRTP decrypt OK)`);

  // SRTP encrypt on the server: the browser receives the consumer's RTP.
  const received = await waitFor(
    () =>
      page.evaluate(async () => {
        const stats = await window.pc.getStats();
        let packets = 0;
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived ?? 0;
        });
        return packets;
      }),
    MEDIA_TIMEOUT_MS,
    'RTP received by the browser (SRTP encrypt)',
  );
  log(`browser received ${received} RTP packets from the consumer (SRTP encrypt OK)`);

  if (worker.died) throw new Error('worker died');
  clearTimeout(hardTimeout);
  await cleanup();
  log('OK');
  process.exit(0);
} catch (error) {
  await fail(error?.stack ?? String(error));
}
