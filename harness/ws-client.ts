// A Node signaling client for tests and simulations: typed requests with
// promised replies, and a queue of notices to await.

import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  type ClientRequestBody,
  type ProtocolError,
  type ResultByRequest,
  type ServerMessage,
  type ServerNotice,
} from '../shared/protocol/signaling.ts';

export type Reply<K extends keyof ResultByRequest> = { ok: true; data: ResultByRequest[K] } | { ok: false; error: ProtocolError };

export class TestClient {
  private nextId = 1;
  private readonly pending = new Map<number, (m: ServerMessage) => void>();
  readonly notices: ServerNotice[] = [];
  private readonly waiters: Array<{ pred: (n: ServerNotice) => boolean; resolve: (n: ServerNotice) => void }> = [];
  noticeHandler?: (n: ServerNotice) => void;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as ServerMessage;
      if (msg.type === 'response') {
        this.pending.get(msg.id)?.(msg);
        this.pending.delete(msg.id);
        return;
      }
      this.notices.push(msg);
      this.noticeHandler?.(msg);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.pred(msg)) {
          this.waiters.splice(i, 1);
          w.resolve(msg);
        }
      }
    });
  }

  static async connect(baseUrl: string): Promise<TestClient> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/ws');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  request<T extends ClientRequestBody>(body: T): Promise<Reply<T['type']>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, (m) => {
        if (m.type !== 'response') return;
        resolve(m.ok ? { ok: true, data: m.data as ResultByRequest[T['type']] } : { ok: false, error: m.error });
      });
      this.ws.send(JSON.stringify({ ...body, id }));
    });
  }

  /** Sends raw text (for malformed-input tests); resolves with the next response or error. */
  sendRaw(text: string): void {
    this.ws.send(text);
  }

  // No name: the server never learns who joins, only an opaque participant ID.
  async join(meetingId: string, mode: 'meeting' | 'call' = 'meeting') {
    const r = await this.request({ type: 'join', v: PROTOCOL_VERSION, meetingId, mode });
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.data;
  }

  waitFor<T extends ServerNotice>(pred: (n: ServerNotice) => n is T, timeoutMs?: number): Promise<T>;
  waitFor(pred: (n: ServerNotice) => boolean, timeoutMs?: number): Promise<ServerNotice>;
  waitFor(pred: (n: ServerNotice) => boolean, timeoutMs = 5000): Promise<ServerNotice> {
    const seen = this.notices.find(pred);
    if (seen) {
      this.notices.splice(this.notices.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a notice')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (n) => {
          clearTimeout(timer);
          this.notices.splice(this.notices.indexOf(n), 1);
          resolve(n);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
