// Smoke test for the mediasoup-worker binary built by build-worker.sh:
// worker -> router (opus + VP8) -> WebRtcTransport on 127.0.0.1 -> close.
// Usage: node scripts/mediasoup/smoke.mjs   (exit 0 on success)
import * as mediasoup from 'mediasoup';

const t0 = Date.now();
const log = (msg) => console.log(`[smoke] ${msg}`);

const timeout = setTimeout(() => {
  console.error('[smoke] FAIL: timed out');
  process.exit(1);
}, 20_000);

let worker;

try {
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  worker.on('died', (error) => {
    console.error(`[smoke] FAIL: worker died: ${error?.message ?? error}`);
    process.exit(1);
  });
  log(`mediasoup ${mediasoup.version}, worker pid ${worker.pid}`);

  const router = await worker.createRouter({
    mediaCodecs: [
      { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
      { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
    ],
  });
  log(`router ${router.id}: codecs ${router.rtpCapabilities.codecs.map((c) => c.mimeType).join(', ')}`);

  const transport = await router.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  });
  const candidate = transport.iceCandidates[0];
  log(
    `webrtc transport ${transport.id}: ${candidate.protocol} ${candidate.address}:${candidate.port}, ` +
      `dtls fingerprints ${transport.dtlsParameters.fingerprints.length}`,
  );

  transport.close();
  router.close();
  worker.close();
  clearTimeout(timeout);
  log(`OK (${Date.now() - t0} ms)`);
} catch (error) {
  console.error(`[smoke] FAIL: ${error?.stack ?? error}`);
  worker?.close();
  process.exit(1);
}
