// Raw HTTP over a TCP socket to 127.0.0.1: the bytes go out exactly as given
// (Node's http client would refuse to send most malformed requests), and the
// reply is read until the server closes or the time runs out.

import net from 'node:net';

export interface RawReply {
  /** The status code, or undefined if no status line came back. */
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** The server closed or reset the connection (rather than the client timing out). */
  closedByServer: boolean;
}

export interface RawRequestOptions {
  /** Stop waiting for the reply after this long (then the client closes the socket). */
  timeoutMs?: number;
  /** Send nothing more after these bytes and close after holdMs (a half-open request). */
  holdMs?: number;
}

export function rawRequest(port: number, request: string | Buffer, opts: RawRequestOptions = {}): Promise<RawReply> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = net.connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks), closedByServer));
    };
    const timer = setTimeout(finish, opts.holdMs ?? timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d) => {
      chunks.push(d);
      // A keep-alive server leaves the socket open: stop at the end of the first reply.
      if (opts.holdMs === undefined && replyComplete(Buffer.concat(chunks))) finish();
    });
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('error', () => {
      closedByServer = true;
      finish();
    });
    socket.on('close', () => finish());
  });
}

function replyComplete(raw: Buffer): boolean {
  const text = raw.toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, headEnd));
  if (length) return raw.length - (headEnd + 4) >= Number(length[1]);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(text.slice(0, headEnd))) return text.endsWith('0\r\n\r\n');
  return false;
}

function parse(raw: Buffer, closedByServer: boolean): RawReply {
  const text = raw.toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd === -1 ? text : text.slice(0, headEnd);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = headEnd === -1 ? '' : text.slice(headEnd + 4);
  const body = headers['transfer-encoding'] === 'chunked' ? dechunk(rest) : rest;
  return { status: m ? Number(m[1]) : undefined, headers, body, closedByServer };
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = lineEnd === -1 ? 0 : parseInt(text.slice(at, lineEnd), 16);
    if (!size) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}
