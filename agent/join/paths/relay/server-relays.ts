// The server's relays, as its welcome offers them: its UDP relay (on the host of the server's URL,
// bound with the token the welcome carries) and its WebSocket; both are rebound after a welcome.
import { makeEndpoint, type Endpoint } from '../../../../shared/net/address.js';
import type { Logger } from '../../../../shared/log.js';
import type { WelcomeMessage } from '../../../../shared/signal/protocol.js';
import type { RelayLinks } from './relay-links.js';

export interface ServerRelaysContext {
  links: RelayLinks;
  /** The server's STUN endpoint when known: its host is the relay's. */
  stunServer(): Endpoint | undefined;
  resolve(port: number): Promise<Endpoint>;
  memberId(): string | undefined;
  signalRttMs(): number | undefined;
  log: Logger;
}

export function useServerRelays(c: ServerRelaysContext, w: WelcomeMessage): void {
  if (w.relayPort === undefined || w.relayToken === undefined) {
    c.links.remove('server', 'the server offers no UDP relay');
  } else {
    const token = Buffer.from(w.relayToken, 'base64url');
    const port = w.relayPort;
    const link = (host: Endpoint) =>
      c.links.upsert('server', 'server', 'server', [makeEndpoint(host.address, port)], () => {
        const id = c.memberId();
        return id ? { id, auth: token } : undefined;
      });
    const stun = c.stunServer();
    if (stun) link(stun);
    else void c.resolve(port).then(link, (e: Error) => c.log.warn('relay host not resolved', { error: e.message }));
  }
  c.links.setWs(w.wsRelay === true, c.signalRttMs());
  c.links.rebindAll();
}
