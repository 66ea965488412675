// Where the server's STUN service is (resolved from the server's URL, at --stun-port until the
// welcome names a port), and the STUN work done against it: our mapping at start, NAT behaviour
// discovery, and the periodic refresh that notices a NAT moving our mapping.
import { formatEndpoint, type Endpoint } from '../../../shared/net/address.js';
import type { Logger } from '../../../shared/log.js';
import type { PathKeeper } from '../paths/direct/path-keeper.js';
import type { LocalCandidates } from './local-candidates.js';

/** Our mapping at the server is checked this often (the NAT may move it). */
export const STUN_REFRESH_MS = 30_000;

export interface StunServiceContext {
  local: LocalCandidates;
  paths: PathKeeper;
  resolve(port: number): Promise<Endpoint>;
  port: number;
  log: Logger;
  announceUpdate(): void;
}

export class StunService {
  server: Endpoint | undefined;

  constructor(private readonly c: StunServiceContext) {}

  /** Resolves the server and learns our candidates once (before we announce anything). */
  async begin(): Promise<void> {
    this.server = await this.c.resolve(this.c.port).catch((e: Error) => {
      this.c.log.warn('STUN server not resolved yet; public candidate unknown', { error: e.message });
      return undefined;
    });
    await this.c.local.refresh();
  }

  discoverNat(): void {
    void this.c.local.discoverNat().then((changed) => {
      this.c.log.info('NAT behaviour', { ...this.c.local.nat, mapped: this.c.local.publicEndpoint && formatEndpoint(this.c.local.publicEndpoint) });
      if (changed) this.c.announceUpdate();
    }, (e: Error) => this.c.log.warn('NAT behaviour discovery failed', { error: e.message }));
  }

  /** The server told us its STUN port: it beats --stun-port; learn our mapping there at once. */
  async usePort(port: number): Promise<void> {
    try {
      this.server = await this.c.resolve(port);
    } catch (e) {
      this.c.log.warn('STUN server not resolved', { error: (e as Error).message });
      return;
    }
    this.c.log.info('using the STUN port the server announced', { stunPort: port });
    this.c.paths.rediscover([]);
    this.discoverNat();
  }

  /** Every STUN_REFRESH_MS: our NAT may have moved our mapping (rediscovery re-announces and re-punches if so). */
  tick(now: number): void {
    if (now - this.c.paths.lastRefreshAt <= STUN_REFRESH_MS) return;
    this.c.paths.lastRefreshAt = now;
    if (this.server) this.c.paths.rediscover([]);
    else void this.c.resolve(this.c.port).then((e) => (this.server = e), () => undefined);
  }
}
