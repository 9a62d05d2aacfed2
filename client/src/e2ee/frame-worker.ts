/// <reference lib="webworker" />
// The frame worker: every encoded audio/video frame passes through here.
// Outgoing frames are SFrame-encrypted or dropped (never sent in clear);
// incoming frames are decrypted or dropped and counted per sender.

import { FrameKeys } from './frame-keys.ts';
import { parseOptions, parsePageMessage, type DropReason, type TransformOptions, type WorkerToPage } from './worker-protocol.ts';
import { FrameStats } from './frame-stats.ts';


interface EncodedFrame {
  data: ArrayBuffer;
  type?: 'key' | 'delta' | 'empty';
}

interface ScriptTransformer {
  readable: ReadableStream<EncodedFrame>;
  writable: WritableStream<EncodedFrame>;
  options: unknown;
  sendKeyFrameRequest?: () => Promise<void>;
}

const scope = self as unknown as DedicatedWorkerGlobalScope & { onrtctransform?: (ev: { transformer: ScriptTransformer }) => void };
const post = (m: WorkerToPage): void => scope.postMessage(m);

const keys = new FrameKeys({ onReserve: (kid, upTo) => post({ type: 'ctr-reserved', kid, upTo }) });
const stats = new FrameStats();
let plaintextForTest = false;
let corruptKeysForTest = false;
const active = new Map<string, { abort: AbortController }>();

/** Pipes one sender's or receiver's frames through encryption or decryption. */
function run(options: TransformOptions, readable: ReadableStream<EncodedFrame>, writable: WritableStream<EncodedFrame>, transformer?: ScriptTransformer): void {
  const abort = new AbortController();
  active.get(options.transformId)?.abort.abort();
  active.set(options.transformId, { abort });
  let lastKid: bigint | undefined;
  let dropsSinceGood = 0;
  let lastKeyFrameAsk = 0;

  const askKeyFrame = (): void => {
    const now = Date.now();
    if (now - lastKeyFrameAsk < 1000) return;
    lastKeyFrameAsk = now;
    if (transformer?.sendKeyFrameRequest) transformer.sendKeyFrameRequest().catch(() => {});
    else post({ type: 'need-keyframe', participantId: options.participantId, transformId: options.transformId });
  };

  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      if (options.operation === 'encrypt') {
        if (__E2EE_TEST_HOOKS__ && plaintextForTest) {
          controller.enqueue(frame);
          return;
        }
        const r = await keys.encrypt(options.codec, data);
        if (!r.ok) {
          stats.sendDropped(r.code);
          return; // dropped: never sent in clear
        }
        frame.data = r.data.buffer as ArrayBuffer;
        stats.sent(r.kid);
        controller.enqueue(frame);
        return;
      }
      if (__E2EE_TEST_HOOKS__ && plaintextForTest) {
        controller.enqueue(frame);
        return;
      }
      const r = await keys.decrypt(options.codec, data, options.participantId);
      if (!r.ok) {
        stats.received(options.participantId, r.code, options.transformId);
        dropsSinceGood++;
        return;
      }
      stats.decrypted(options.participantId, r.kid, options.transformId);
      if (lastKid !== r.kid) {
        if (lastKid !== undefined) post({ type: 'kid-switched', participantId: options.participantId, kid: r.kid });
        lastKid = r.kid;
      }
      // After drops the decoder needs a keyframe to recover.
      if (dropsSinceGood > 0 && options.kind === 'video' && frame.type !== 'key') askKeyFrame();
      if (frame.type === 'key' || options.kind === 'audio') dropsSinceGood = 0;
      frame.data = r.data.buffer as ArrayBuffer;
      controller.enqueue(frame);
    },
  });
  readable
    .pipeThrough(transform, { signal: abort.signal })
    .pipeTo(writable, { signal: abort.signal })
    .catch((e: unknown) => {
      if (!abort.signal.aborted) post({ type: 'error', code: 'TRANSFORM_ENDED', message: String(e) });
    })
    .finally(() => {
      if (active.get(options.transformId)?.abort === abort) active.delete(options.transformId);
    });
}

// RTCRtpScriptTransform path.
scope.onrtctransform = (ev) => {
  const options = parseOptions(ev.transformer.options);
  if (!options) {
    post({ type: 'error', code: 'BAD_TRANSFORM_OPTIONS', message: 'transform options missing or malformed' });
    return;
  }
  run(options, ev.transformer.readable, ev.transformer.writable, ev.transformer);
};

scope.onmessage = (ev: MessageEvent) => {
  const msg = parsePageMessage(ev.data);
  if (!msg) {
    post({ type: 'error', code: 'BAD_WORKER_MESSAGE', message: 'the frame worker got a malformed message' });
    return;
  }
  switch (msg.type) {
    case 'attach':
      run(msg.options, msg.readable as ReadableStream<EncodedFrame>, msg.writable as WritableStream<EncodedFrame>);
      break;
    case 'detach':
      active.get(msg.transformId)?.abort.abort();
      active.delete(msg.transformId);
      break;
    case 'add-receive-key':
      // Test builds only: a receiver holding a wrong key must decode nothing.
      if (__E2EE_TEST_HOOKS__ && corruptKeysForTest) msg.baseKey[0]! ^= 0xff;
      void keys.addReceiveKey(msg.kid, msg.participantId, msg.baseKey).catch((e: unknown) => reportError('KEY_IMPORT', e));
      break;
    case 'set-send-key':
      void keys.setSendKey(msg.kid, msg.baseKey, msg.ctrFloor).catch((e: unknown) => reportError('KEY_IMPORT', e));
      break;
    case 'retire-key':
      keys.retire(msg.kid, msg.graceMs);
      break;
    case 'clear-send-key':
      keys.clearSendKey();
      break;
    case 'test-config':
      if (!__E2EE_TEST_HOOKS__) {
        post({ type: 'error', code: 'TEST_HOOKS_DISABLED', message: 'this build has no test hooks' });
        return;
      }
      plaintextForTest = msg.plaintext;
      corruptKeysForTest = msg.corruptReceiveKeys;
      break;
  }
};

function reportError(code: string, e: unknown): void {
  post({ type: 'error', code, message: e instanceof Error ? e.message : String(e) });
}

setInterval(() => post({ type: 'stats', ...stats.snapshot() }), 500);
post({ type: 'ready', scriptTransform: 'onrtctransform' in scope || typeof (scope as unknown as { RTCTransformEvent?: unknown }).RTCTransformEvent !== 'undefined' });

export type { DropReason };
