import { describe, expect, it } from 'vitest';
import {
  CIPHER_SUITES,
  createKeyContext,
  decodeHeader,
  sframeDecrypt,
  sframeEncrypt,
  type CipherSuiteId,
  type KeyContext,
} from '../../shared/sframe/index.ts';
import { baseKey, codeOf, flipBit, MAX_U64, unwrap } from './fixtures.ts';

const SUITES = Object.values(CIPHER_SUITES);
const metadata = new TextEncoder().encode('metadata');
const plaintext = new TextEncoder().encode('a media frame, or close enough');

async function context(suite: CipherSuiteId, kid: bigint, seed = 1): Promise<KeyContext> {
  return unwrap(await createKeyContext(CIPHER_SUITES[suite], kid, baseKey(seed)));
}

describe.each(SUITES)('cipher suite $id ($name)', (suite) => {
  it('round-trips: header || ciphertext || Nt-byte tag, and back to the plaintext', async () => {
    const ctx = await context(suite.id, 0x123n);
    const sealed = unwrap(await sframeEncrypt(ctx, 0x4567n, metadata, plaintext));
    const header = unwrap(decodeHeader(sealed));
    expect(sealed.length).toBe(header.length + plaintext.length + suite.nt);
    const opened = unwrap(await sframeDecrypt(() => ctx, metadata, sealed));
    expect(opened).toEqual({ kid: 0x123n, ctr: 0x4567n, plaintext });
  });

  it('works at KID and CTR 2^64-1', async () => {
    const ctx = await context(suite.id, MAX_U64);
    const sealed = unwrap(await sframeEncrypt(ctx, MAX_U64, metadata, plaintext));
    expect(unwrap(await sframeDecrypt(() => ctx, metadata, sealed))).toMatchObject({ kid: MAX_U64, ctr: MAX_U64 });
  });

  it('rejects a flipped bit in the header, metadata, ciphertext or tag with AUTH_FAILED', async () => {
    const ctx = await context(suite.id, 0x123n);
    const sealed = unwrap(await sframeEncrypt(ctx, 0x4567n, metadata, plaintext));
    const keyFor = () => ctx;
    // Header byte 4 is the last CTR byte: the KID and the header shape stay the same.
    expect(codeOf(await sframeDecrypt(keyFor, metadata, flipBit(sealed, 4)))).toBe('AUTH_FAILED');
    expect(codeOf(await sframeDecrypt(keyFor, flipBit(metadata, 0), sealed))).toBe('AUTH_FAILED');
    expect(codeOf(await sframeDecrypt(keyFor, metadata, flipBit(sealed, 7, 3)))).toBe('AUTH_FAILED');
    expect(codeOf(await sframeDecrypt(keyFor, metadata, flipBit(sealed, sealed.length - 1, 7)))).toBe('AUTH_FAILED');
  });

  it('gives AUTH_FAILED to a receiver holding a different key for the same KID', async () => {
    const sender = await context(suite.id, 9n, 1);
    const other = await context(suite.id, 9n, 2);
    const sealed = unwrap(await sframeEncrypt(sender, 1n, metadata, plaintext));
    expect(codeOf(await sframeDecrypt(() => other, metadata, sealed))).toBe('AUTH_FAILED');
  });

  it('encrypts an empty plaintext to header || tag', async () => {
    const ctx = await context(suite.id, 1n);
    const sealed = unwrap(await sframeEncrypt(ctx, 1n, new Uint8Array(), new Uint8Array()));
    expect(sealed.length).toBe(1 + suite.nt);
    expect(unwrap(await sframeDecrypt(() => ctx, new Uint8Array(), sealed)).plaintext.length).toBe(0);
  });

  it('holds only non-extractable CryptoKeys', async () => {
    const { aead } = await context(suite.id, 1n);
    const keys = aead.aead === 'AES-GCM' ? [aead.key] : [aead.encKey, aead.authKey];
    for (const k of keys) expect(k.extractable).toBe(false);
  });
});

describe('SFrame decryption', () => {
  it('reports UNKNOWN_KID when no key matches the header KID', async () => {
    const ctx = await context(4, 5n);
    const sealed = unwrap(await sframeEncrypt(ctx, 1n, metadata, plaintext));
    expect(codeOf(await sframeDecrypt(() => undefined, metadata, sealed))).toBe('UNKNOWN_KID');
  });

  it('reports MALFORMED for a ciphertext shorter than its tag', async () => {
    const ctx = await context(4, 5n);
    const sealed = unwrap(await sframeEncrypt(ctx, 1n, metadata, new Uint8Array()));
    expect(await sframeDecrypt(() => ctx, metadata, sealed.subarray(0, sealed.length - 1))).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED', detail: 'FRAME_TOO_SHORT' },
    });
  });

  it('never derives the same key or salt for two KIDs or two suites', async () => {
    const a = await context(4, 1n);
    const b = await context(4, 2n);
    const c = await context(5, 1n);
    expect(a.salt).not.toEqual(b.salt);
    expect(a.salt).not.toEqual(c.salt);
  });
});
