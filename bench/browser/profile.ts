// Profile cells of the browser bench: the bare WebCrypto floor under each
// suite, per-call overhead, the SFrame core in layers, buffer costs, and the
// app's stages with WebCrypto stubbed out (what the JS around it costs).

import type { EncodedFrame, FrameOutput } from '../../client/src/e2ee/worker/pipeline.ts';
import {
  aeadOpen,
  aeadSeal,
  CIPHER_SUITES,
  createKeyContext,
  decryptMediaFrame,
  encryptMediaFrame,
  sframeDecrypt,
  sframeEncrypt,
  type KeyContext,
} from '../../shared/sframe/index.ts';
import { FRAMES, kidFor, makeFrame, makeParticipants } from './frame-cells.ts';
import type { CellStats } from './protocol.ts';
import { asyncCell, syncCell, type Cell } from './sampling.ts';

export type ProfileEntry = { name: string; size: number; cell: Cell & { stats: () => CellStats } };

interface RawKeys {
  gcm128: CryptoKey;
  gcm256: CryptoKey;
  ctr: CryptoKey;
  hmac: CryptoKey;
}

async function rawKeys(): Promise<RawKeys> {
  const s = crypto.subtle;
  const rnd = (n: number): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n));
  return {
    gcm128: await s.importKey('raw', rnd(16), 'AES-GCM', false, ['encrypt', 'decrypt']),
    gcm256: await s.importKey('raw', rnd(32), 'AES-GCM', false, ['encrypt', 'decrypt']),
    ctr: await s.importKey('raw', rnd(16), 'AES-CTR', false, ['encrypt', 'decrypt']),
    hmac: await s.importKey('raw', rnd(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
  };
}

export async function profileCells(): Promise<ProfileEntry[]> {
  const keys = await rawKeys();
  const s = crypto.subtle;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const counter = new Uint8Array(16);
  counter.set(iv);
  const aad = crypto.getRandomValues(new Uint8Array(7)); // ~ SFrame header (4) + VP8 delta clear bytes (3)
  const gcm = (key: CryptoKey, pt: Uint8Array<ArrayBuffer>) => async (): Promise<void> => {
    const params = { name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 };
    const ct = await s.encrypt(params, key, pt);
    await s.decrypt(params, key, ct);
  };
  const macInput = (ct: ArrayBuffer): Uint8Array<ArrayBuffer> => {
    const m = new Uint8Array(24 + iv.length + aad.length + ct.byteLength);
    m.set(iv, 24);
    m.set(aad, 24 + iv.length);
    m.set(new Uint8Array(ct), 24 + iv.length + aad.length);
    return m;
  };
  const ctrHmac = (pt: Uint8Array<ArrayBuffer>, parallelOpen: boolean) => async (): Promise<void> => {
    const ctrParams = { name: 'AES-CTR', counter, length: 32 };
    const ct = await s.encrypt(ctrParams, keys.ctr, pt);
    await s.sign('HMAC', keys.hmac, macInput(ct));
    if (parallelOpen) {
      await Promise.all([s.sign('HMAC', keys.hmac, macInput(ct)), s.decrypt(ctrParams, keys.ctr, ct)]);
    } else {
      await s.sign('HMAC', keys.hmac, macInput(ct));
      await s.decrypt(ctrParams, keys.ctr, ct);
    }
  };
  const empty = new Uint8Array(0);
  const cells: ProfileEntry[] = [];
  const add = (name: string, size: number, op: () => Promise<void>): void => {
    cells.push({ name, size, cell: asyncCell(op, size, `profile ${name}${size ? ` ${size} B` : ''}`) });
  };
  add('one WebCrypto call: AES-GCM encrypt of 0 bytes', 0, async () => {
    await s.encrypt({ name: 'AES-GCM', iv, tagLength: 128 }, keys.gcm128, empty);
  });
  add('async overhead: await of a resolved promise', 0, async () => {
    await Promise.resolve();
  });
  // The SFrame core in layers (suite 4), to see what each layer adds over the bare WebCrypto floor.
  const ctx4 = await createKeyContext(CIPHER_SUITES[4], kidFor(4), crypto.getRandomValues(new Uint8Array(16)));
  if (!ctx4.ok) throw new Error(ctx4.error.message);
  const ctx: KeyContext = ctx4.value;
  const keyFor = (): KeyContext => ctx;
  const must = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  };
  let ctr = 1n << 20n;
  for (const { size } of FRAMES) {
    const pt = makeFrame('vp8', size);
    const metadata = pt.subarray(0, 3);
    const body = pt.subarray(3);
    const header = new Uint8Array([0x1b, 0x0b, 0x00, 0x02, 0x10, 0x00]); // stands in for an encoded header in the AAD
    const aad4 = new Uint8Array([...header, ...metadata]);
    add('floor suite 4: bare AES-128-GCM encrypt+decrypt', size, gcm(keys.gcm128, pt));
    add('suite 4 layer 1: aeadSeal + aeadOpen (aead.ts)', size, async () => {
      const sealed = must(await aeadSeal(ctx.suite, ctx.aead, iv, aad4, body));
      must(await aeadOpen(ctx.suite, ctx.aead, iv, aad4, sealed));
    });
    add('suite 4 layer 2: + header, nonce, AAD (sframeEncrypt/sframeDecrypt)', size, async () => {
      const c = ctr++;
      const wire = must(await sframeEncrypt(ctx, c, metadata, body));
      must(await sframeDecrypt(keyFor, metadata, wire));
    });
    add('suite 4 layer 3: + clear bytes, output copies (encrypt/decryptMediaFrame)', size, async () => {
      const c = ctr++;
      const wire = must(await encryptMediaFrame(ctx, c, 'vp8', pt));
      must(await decryptMediaFrame(keyFor, 'vp8', wire));
    });
    add('floor suite 5: bare AES-256-GCM encrypt+decrypt', size, gcm(keys.gcm256, pt));
    add('floor suites 1-3: bare AES-CTR + HMAC, sequential as aead.ts', size, ctrHmac(pt, false));
    add('suites 1-3 variant: open with HMAC || AES-CTR in parallel', size, ctrHmac(pt, true));
  }
  // What a frame-sized buffer costs here: allocating one vs copying into one that exists,
  // and resizing one with ArrayBuffer.prototype.transfer (ES2024), which may reuse its memory.
  type Transferable = ArrayBuffer & { transfer(n: number): ArrayBuffer };
  for (const { size } of FRAMES) {
    const src = makeFrame('vp8', size);
    const dst = new Uint8Array(size);
    let sink = 0;
    let buf = new ArrayBuffer(size) as Transferable;
    const addSync = (name: string, op: () => void): void => {
      cells.push({ name, size, cell: syncCell(op, size, `profile ${name} ${size} B`) });
    };
    addSync('new ArrayBuffer(n): allocation only', () => {
      sink ^= new ArrayBuffer(size).byteLength;
    });
    addSync('copy n bytes into an existing buffer: no allocation', () => {
      dst.set(src);
      sink ^= dst[sink & 63] ?? 0;
    });
    addSync('ArrayBuffer transfer(n + 33) then transfer(n): grow and shrink', () => {
      buf = buf.transfer(size + 33) as Transferable;
      buf = buf.transfer(size) as Transferable;
      sink ^= buf.byteLength;
    });
    if (sink === -1) throw new Error('unreachable');
  }

  // The SFrame JS path alone: the app's stages with crypto.subtle stubbed to return a
  // right-sized buffer at once, so what remains is header/nonce/AAD/counter/replay
  // work, allocations, counters and the output copies, without the WebCrypto call.
  for (const suite of [4, 1] as const) {
    const base = crypto.getRandomValues(new Uint8Array(16));
    for (const { codec, size } of FRAMES) {
      const p = await makeParticipants(suite, base, codec);
      const frame = makeFrame(codec, size);
      let passed: EncodedFrame | undefined;
      const out: FrameOutput = { enqueue: (f) => void (passed = f) };
      const op = async (): Promise<void> => {
        passed = undefined;
        await p.sender.encryptFrame({ data: frame.buffer, type: 'delta' }, out);
        const wire = passed as EncodedFrame | undefined;
        if (!wire) throw new Error('stubbed encrypt passed nothing on');
        passed = undefined;
        await p.receiver.decryptFrame(wire, out);
        const back = passed as EncodedFrame | undefined;
        if (back?.data.byteLength !== frame.length) throw new Error('stubbed decrypt: length');
      };
      const name = `suite ${suite} encrypt+decrypt stages, WebCrypto stubbed (JS + copies only)`;
      cells.push({ name, size, cell: stubbedCell(op, size, `profile suite ${suite} stubbed ${size} B`) });
    }
  }
  return cells;
}

/** Runs `op` with crypto.subtle.encrypt/decrypt/sign replaced by stubs that resolve at once with a zeroed buffer of the right size. */
function stubbedCell(op: () => Promise<void>, size: number, label: string) {
  const inner = asyncCell(op, size, label);
  const len = (d: BufferSource): number => d.byteLength;
  type Stub = (alg: AlgorithmIdentifier & { name?: string }, key: CryptoKey, data: BufferSource) => Promise<ArrayBuffer>;
  const stubs: Record<'encrypt' | 'decrypt' | 'sign', Stub> = {
    // AES-GCM adds a 16-byte tag; AES-CTR keeps the length.
    encrypt: (alg, _key, data) => Promise.resolve(new ArrayBuffer(len(data) + (alg.name === 'AES-GCM' ? 16 : 0))),
    decrypt: (alg, _key, data) => Promise.resolve(new ArrayBuffer(len(data) - (alg.name === 'AES-GCM' ? 16 : 0))),
    sign: () => Promise.resolve(new ArrayBuffer(32)),
  };
  const cell: Cell & { stats: () => CellStats } = {
    ...inner,
    async round(budgetMs, maxSamples, first) {
      const subtle = crypto.subtle as unknown as Record<string, unknown>;
      for (const [name, fn] of Object.entries(stubs)) {
        Object.defineProperty(subtle, name, { value: fn, configurable: true, writable: true });
      }
      try {
        return await inner.round(budgetMs, maxSamples, first);
      } finally {
        // Removing the own properties uncovers SubtleCrypto.prototype's real methods again.
        for (const name of Object.keys(stubs)) delete subtle[name];
      }
    },
  };
  return cell;
}
