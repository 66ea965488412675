// `--accept-routes`: other members' advertised LAN prefixes become their allowed IPs in the engine
// and routes into our tunnel, as chooseRoutes decides (route-choice.ts). Runs on every change of
// the members; a prefix whose carrier leaves moves to the next advertiser or is withdrawn, the
// kernel route staying while any member carries it. Without --accept-routes nothing is routed
// (each advertiser is logged once).
import { parsePrefix } from '../../../shared/net/address.js';
import type { Logger } from '../../../shared/log.js';
import type { JoinEngine, TunnelPort } from '../ports.js';
import { chooseRoutes, type Conflict, type RouteOffer } from './route-choice.js';

export interface SubnetRoutesContext {
  engine: Pick<JoinEngine, 'allow' | 'disallow'>;
  tunnel: Pick<TunnelPort, 'addRoute' | 'removeRoute'>;
  accept: boolean;
  /** The room subnet and the routes we advertise: nobody else's prefix may overlap them. */
  ours: readonly Conflict[];
  /** Our LANs, read on each decision (interfaces come and go). */
  lans(): Conflict[];
  log: Logger;
  count(what: string): void;
}

/** Distinct refusals remembered (each is logged once). */
const MAX_LOGGED = 1024;

export interface AcceptedRoute {
  prefix: string;
  via: string;
}

export class SubnetRoutes {
  /** Prefix → the member whose peer holds it in the engine. */
  private readonly routed = new Map<string, RouteOffer>();
  private readonly kernel = new Set<string>();
  private readonly logged = new Set<string>();

  constructor(private readonly c: SubnetRoutesContext) {}

  apply(members: readonly RouteOffer[]): void {
    const c = this.c;
    const offers = members.filter((m) => m.routes.length > 0);
    if (!c.accept) {
      for (const m of offers) this.once(`ignored ${m.key} ${m.routes.join()}`, () => c.log.info('member advertises routes; not accepted without --accept-routes', { name: m.name, routes: m.routes }));
      return;
    }
    const { chosen, refused } = chooseRoutes(offers, [...c.ours, ...c.lans()]);
    for (const r of refused) {
      this.once(`refused ${r.key} ${r.prefix} ${r.reason}`, () => {
        c.count('routes_refused');
        c.log.warn('advertised route refused', { name: r.name, prefix: r.prefix, overlaps: r.reason });
      });
    }
    for (const [prefix, held] of this.routed) {
      const next = chosen.get(prefix);
      if (next?.key === held.key) continue;
      c.engine.disallow(parsePrefix(prefix), held.publicKey);
      this.routed.delete(prefix);
      if (!next) c.log.info('route withdrawn', { prefix, via: held.name });
      else c.log.info('route moves to another member', { prefix, from: held.name, to: next.name });
    }
    for (const [prefix, next] of chosen) {
      if (this.routed.has(prefix) || !c.engine.allow(parsePrefix(prefix), next.publicKey)) continue;
      this.routed.set(prefix, next);
      if (!this.kernel.has(prefix)) c.log.info('route accepted', { prefix, via: next.name });
    }
    this.syncKernel();
  }

  /** Routes in the tunnel for exactly the prefixes some member carries. */
  private syncKernel(): void {
    const c = this.c;
    for (const prefix of this.kernel) {
      if (this.routed.has(prefix)) continue;
      this.kernel.delete(prefix);
      c.tunnel.removeRoute(prefix).catch((e: Error) => c.log.warn('route not removed', { prefix, error: e.message }));
    }
    for (const prefix of this.routed.keys()) {
      if (this.kernel.has(prefix)) continue;
      this.kernel.add(prefix);
      c.tunnel.addRoute(prefix).catch((e: Error) => c.log.warn('route not added', { prefix, error: e.message }));
    }
  }

  accepted(): AcceptedRoute[] {
    return [...this.routed].map(([prefix, m]) => ({ prefix, via: m.name }));
  }

  private once(what: string, fn: () => void): void {
    if (this.logged.has(what)) return;
    if (this.logged.size >= MAX_LOGGED) this.logged.clear(); // members changing lists must not grow it without end
    this.logged.add(what);
    fn();
  }
}
