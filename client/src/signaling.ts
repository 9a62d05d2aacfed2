// Browser side of the signaling channel: typed requests with promised replies,
// and typed notices. Server messages are checked before anything uses them.

import {
  PROTOCOL_VERSION,
  type ClientRequestBody,
  type ProtocolError,
  type ResultByRequest,
  type ServerNotice,
} from '../../shared/protocol/signaling.ts';
import { parseServerMessage } from '../../shared/protocol/validate.ts';

export type RequestResult<K extends keyof ResultByRequest> = { ok: true; data: ResultByRequest[K] } | { ok: false; error: ProtocolError };

type NoticeHandler = (n: ServerNotice) => void;

export class SignalingError extends Error {
  constructor(readonly error: ProtocolError) {
    super(`${error.code}: ${error.message}`);
  }
}

export class Signaling {
  private ws?: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, (r: { ok: boolean; data?: unknown; error?: ProtocolError }) => void>();
  private readonly handlers = new Set<NoticeHandler>();
  onClose: (ev: CloseEvent) => void = () => {};

  constructor(private readonly url: string) {}

  static defaultUrl(): string {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws`;
  }

  connect(timeoutMs = 8000): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      const timer = setTimeout(() => {
        ws.close();
        reject(new SignalingError({ code: 'INTERNAL', message: 'could not reach the meeting server' }));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new SignalingError({ code: 'INTERNAL', message: 'could not reach the meeting server' }));
      };
      ws.onmessage = (ev) => this.onMessage(typeof ev.data === 'string' ? ev.data : '');
      ws.onclose = (ev) => {
        // Closed before it opened (no error event first): this attempt failed.
        clearTimeout(timer);
        reject(new SignalingError({ code: 'INTERNAL', message: 'could not reach the meeting server' }));
        for (const done of this.pending.values()) done({ ok: false, error: { code: 'INTERNAL', message: 'connection closed' } });
        this.pending.clear();
        this.onClose(ev);
      };
    });
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  onNotice(h: NoticeHandler): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }

  private onMessage(raw: string): void {
    const msg = parseServerMessage(raw);
    if (!msg) {
      console.warn('dropped a malformed message from the server');
      return;
    }
    if (msg.type === 'response') {
      const done = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      done?.(msg.ok ? { ok: true, data: msg.data } : { ok: false, error: msg.error });
      return;
    }
    if (msg.type === 'error') console.warn(`server error ${msg.error.code}: ${msg.error.message}`);
    for (const h of this.handlers) h(msg);
  }

  /** Sends a request and resolves with the server's typed reply. */
  request<T extends ClientRequestBody>(body: T): Promise<RequestResult<T['type']>> {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        resolve({ ok: false, error: { code: 'INTERNAL', message: 'not connected' } });
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, (r) =>
        resolve(r.ok ? { ok: true, data: r.data as ResultByRequest[T['type']] } : { ok: false, error: r.error! }),
      );
      this.ws.send(JSON.stringify({ ...body, id }));
    });
  }

  /** Like request(), but throws a SignalingError on an error reply. */
  async call<T extends ClientRequestBody>(body: T): Promise<ResultByRequest[T['type']]> {
    const r = await this.request(body);
    if (!r.ok) throw new SignalingError(r.error);
    return r.data;
  }

  join(meetingId: string, mode: 'meeting' | 'call') {
    return this.call({ type: 'join', v: PROTOCOL_VERSION, meetingId, mode });
  }

  close(): void {
    this.ws?.close();
  }
}
