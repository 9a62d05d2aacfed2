/// <reference lib="webworker" />
// The frame worker's entry: routes validated page messages to the key state,
// and pipes every sender's and receiver's frames through a FrameCryptor
// (pipeline.ts, where the per-frame decisions are). Outgoing frames are
// SFrame-encrypted or dropped (never sent in clear); incoming frames are
// decrypted or dropped and counted per sender. Test builds add two hooks here,
// outside the pipeline; production builds compile them out.

import { WorkerKeys } from './keys.ts';
import { asStreamStep, FrameCryptor, type EncodedFrame } from './pipeline.ts';
import {
  parseOptions,
  parsePageMessage,
  type SendKeyOutcome,
  type TransformOptions,
  type WorkerErrorCode,
  type WorkerToPage,
} from './protocol.ts';
import { FrameStats } from './stats.ts';

/** What RTCRtpScriptTransform hands the worker (the part we use). */
interface ScriptTransformer {
  readable: ReadableStream<EncodedFrame>;
  writable: WritableStream<EncodedFrame>;
  options: unknown;
  sendKeyFrameRequest?: () => Promise<void>;
}

const STATS_INTERVAL_MS = 500;

const scope = self as unknown as DedicatedWorkerGlobalScope & { onrtctransform?: (ev: { transformer: ScriptTransformer }) => void };
const post = (m: WorkerToPage): void => scope.postMessage(m);

const keys = new WorkerKeys();
const stats = new FrameStats();
let plaintextForTest = false;
let corruptKeysForTest = false;

/** Pipes one sender's or receiver's frames through its FrameCryptor. */
function run(
  options: TransformOptions,
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  transformer?: ScriptTransformer,
): void {
  const requestKeyFrame = (): void => {
    if (transformer?.sendKeyFrameRequest) transformer.sendKeyFrameRequest().catch(() => {});
    else post({ type: 'need-keyframe', participantId: options.participantId, transformId: options.transformId });
  };
  const cryptor = new FrameCryptor(options, { keys, stats, requestKeyFrame });
  readable
    .pipeThrough(__E2EE_TEST_HOOKS__ ? withPlaintextSwitch(cryptor) : cryptor.toTransformStream())
    .pipeTo(writable)
    .catch((e: unknown) => reportError('TRANSFORM_ENDED', e));
}

/** Test builds only: while the plaintext switch is on, frames pass untouched (the blindness audit's control run). */
function withPlaintextSwitch(cryptor: FrameCryptor): TransformStream<EncodedFrame, EncodedFrame> {
  return new TransformStream<EncodedFrame, EncodedFrame>({
    transform: asStreamStep((frame, out) => (plaintextForTest ? out.enqueue(frame) : cryptor.transform(frame, out))),
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
    case 'add-receive-key':
      // Test builds only: a receiver holding a wrong key must decode nothing.
      if (__E2EE_TEST_HOOKS__ && corruptKeysForTest) msg.baseKey[0]! ^= 0xff;
      void keys.addReceiveKey(msg.kid, msg.participantId, msg.baseKey).then((r) => {
        if (!r.ok)
          post({
            type: 'error',
            code: 'KEY_IMPORT',
            message: `receive key ${msg.kid} of ${msg.participantId}: ${r.error.code}: ${r.error.message}`,
          });
      });
      break;
    case 'set-send-key':
      void setSendKey(msg.seq, msg.kid, msg.baseKey);
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

/** Installs the send key and tells the page whether frames now go out under it: it shows an epoch only once they do. */
async function setSendKey(seq: number, kid: bigint, baseKey: Uint8Array): Promise<void> {
  let outcome: SendKeyOutcome;
  try {
    const r = await keys.setSendKey(kid, baseKey);
    outcome = r.ok
      ? { type: 'send-key', seq, kid, ok: true }
      : { type: 'send-key', seq, kid, ok: false, error: { code: r.error.code, message: r.error.message } };
  } catch (e) {
    keys.clearSendKey(); // fail closed, as for a refusal
    outcome = { type: 'send-key', seq, kid, ok: false, error: { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) } };
  }
  post(outcome);
}

function reportError(code: WorkerErrorCode, e: unknown): void {
  post({ type: 'error', code, message: e instanceof Error ? e.message : String(e) });
}

setInterval(() => post({ type: 'stats', ...stats.snapshot() }), STATS_INTERVAL_MS);
