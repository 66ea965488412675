// Plain HTTP endpoints next to the WebSocket: health and metrics. Everything else is 404.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface HttpRouteContext {
  serving(): boolean;
  renderMetrics(): string;
}

function reply(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q >= 0 ? raw.slice(0, q) : raw;
}

export function handleHttpRequest(ctx: HttpRouteContext, req: IncomingMessage, res: ServerResponse): void {
  const path = pathOf(req.url);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, 405, 'method not allowed\n');
  }
  switch (path) {
    case '/healthz':
      return ctx.serving() ? reply(res, 200, 'ok\n') : reply(res, 503, 'shutting down\n');
    case '/metrics':
      return reply(res, 200, ctx.renderMetrics(), 'text/plain; version=0.0.4; charset=utf-8');
    case '/ws':
      res.setHeader('upgrade', 'websocket');
      return reply(res, 426, 'this endpoint speaks WebSocket\n');
    default:
      return reply(res, 404, 'not found\n');
  }
}
