import type { Socket } from 'node:net';

/**
 * Limits enforced before a request reaches a route, and the answers for breaking them. Everything here is answered
 * with the usual `{"detail": ...}` body, by Node's HTTP parser layer (which Fastify hands to `clientErrorHandler`).
 */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** Request line plus headers, in bytes: what a bearer token, a cookie and a long query string need, and no more. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Path parameters (user and key ids) up to this length reach their routes; longer ones are 414. */
export const MAX_PARAM_LENGTH = 1024;

function answer(socket: Socket, status: number, reason: string, detail: string): void {
  const body = JSON.stringify({ detail });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Malformed, oversized or too-slow requests: the parser rejected them, so no route, hook or log context exists. */
export function clientErrorHandler(err: NodeJS.ErrnoException & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return answer(socket, 431, 'Request Header Fields Too Large', 'Request headers are too large');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return answer(socket, 408, 'Request Timeout', 'Request timed out');
  answer(socket, 400, 'Bad Request', 'Malformed HTTP request');
}
