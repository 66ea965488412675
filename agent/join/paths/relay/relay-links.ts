// Our links to the relays of the room: the server's UDP relay (when its welcome offers one), each
// bounce peer (a member that announced `bounce`), and the server's WebSocket as the relay of last
// resort (UDP blocked). For each UDP relay we keep a binding (BIND every few seconds while a member
// goes through it, every IDLE_REFRESH_MS while none does; it also keeps our NAT mapping toward it
// open and measures its RTT) and declare it down when it stops answering. Which member goes through which link is relay-paths.ts's business.
import { randomBytes } from 'node:crypto';
import { formatEndpoint, sameEndpoint, type Endpoint } from '../../../../shared/net/address.js';
import { encodeBind, encodeWsFrame, RELAY_TXID_BYTES } from '../../../../shared/wire/relay.js';
import { DataFramer, DataHeaders } from '../../../../shared/wire/relay-data.js';
import type { Logger } from '../../../../shared/log.js';
import { SlotCounter } from '../slots.js';

export type RelayLinkKind = 'server' | 'bounce' | 'ws';

export interface RelayLink {
  /** Names the link in virtual endpoints (relay-endpoint.ts); never reused. */
  slot: number;
  /** 'server', 'ws', or the bounce's public key. */
  key: string;
  /** What `status` shows: 'server', 'ws' or the bounce's name. */
  label: string;
  kind: RelayLinkKind;
  /** Where to BIND (a bounce may have several candidates); `endpoint` is the one that answered. */
  targets: Endpoint[];
  endpoint: Endpoint | undefined;
  up: boolean;
  rttMs: number | undefined;
  lastBoundAt: number;
  nextBindAt: number;
  bindAttempts: number;
  /** When the first refresh since the link last answered was due (undefined: it answered since). */
  unansweredSince?: number;
  /** When the refresh schedule (not a wake or rebind) wants the next refresh. */
  refreshDueAt?: number;
  /** The last tick found no credentials: nothing to send until a welcome (rebindAll). */
  awaitingCredentials?: boolean;
  /** Our member id and its proof for this relay, now; undefined while we have no member id. */
  credentials(): { id: string; auth: Buffer } | undefined;
}

export interface RelayLinksContext {
  /** Queues a datagram on the WireGuard socket. */
  queue(data: Buffer, to: Endpoint): void;
  /** Sends a binary frame on the signalling WebSocket; false when it cannot now. */
  sendWs(frame: Buffer): boolean;
  log: Logger;
  /** A link went down (or away): members using it must move. */
  linkDown(link: RelayLink): void;
  /** A member goes through `link` now (without this: every link counts as in use). */
  inUse?(link: RelayLink): boolean;
  /** A bind became due now (a new link, new targets, a new member id): the agent's clock may be asleep. */
  wake?(): void;
}

/** A bound link in use refreshes this often (keeps the NAT mapping and the relay's binding fresh). */
const REFRESH_MS = 2_000;
/**
 * A bound link nobody goes through refreshes this seldom: enough for the relay's binding (it
 * lives 90 s) and for NAT mappings (which rarely forget a flow in under 30 s); a member moving
 * onto the link makes it refresh at once (wake).
 */
const IDLE_REFRESH_MS = 25_000;
/** An unbound link retries binding this often. */
const RETRY_MS = 1_000;
/** ... and backs off to this after many failures (a relay we cannot reach at all). */
const RETRY_MAX_MS = 10_000;
/** A link that has not answered a bind for this long is down. */
const DOWN_AFTER_MS = 5_000;
const PENDING_MAX = 16;
/**
 * A bounce's targets are what it announces, perhaps a third party's addresses: we BIND to at most
 * this many, and one that never bound backs off to BOUNCE_NEVER_BOUND_RETRY_MAX_MS.
 */
const MAX_BIND_TARGETS = 4;
const BOUNCE_NEVER_BOUND_RETRY_MAX_MS = 60_000;

const mono = () => performance.now();

export class RelayLinks {
  private readonly links = new Map<string, RelayLink>();
  private readonly bySlot = new Map<number, RelayLink>();
  private readonly pending = new Map<string, { link: RelayLink; to: Endpoint; sentAt: number; challenged?: boolean }>();
  private readonly slots = new SlotCounter();
  // Every relayed packet is framed here: no buffer allocation or id encoding per packet.
  private readonly headers = new DataHeaders();
  private readonly framer = new DataFramer();

  constructor(private readonly c: RelayLinksContext) {}

  all(): RelayLink[] {
    return [...this.links.values()];
  }

  get(key: string): RelayLink | undefined {
    return this.links.get(key);
  }

  slot(slot: number): RelayLink | undefined {
    return this.bySlot.get(slot);
  }

  /** Adds or updates a link; a link whose targets changed binds again at once. */
  upsert(key: string, kind: RelayLinkKind, label: string, targets: Endpoint[], credentials: RelayLink['credentials']): RelayLink {
    let link = this.links.get(key);
    if (!link) {
      link = { slot: this.slots.take(this.bySlot), key, label, kind, targets, endpoint: undefined, up: kind === 'ws', rttMs: undefined, lastBoundAt: -Infinity, nextBindAt: 0, bindAttempts: 0, credentials };
      this.links.set(key, link);
      this.bySlot.set(link.slot, link);
      this.c.log.info('relay known', { relay: label, kind, targets: targets.map(formatEndpoint) });
      this.c.wake?.();
      return link;
    }
    link.label = label;
    link.credentials = credentials;
    const same = targets.length === link.targets.length && targets.every((t, i) => sameEndpoint(t, link.targets[i]!));
    if (!same) {
      link.targets = targets;
      if (link.endpoint && !targets.some((t) => sameEndpoint(t, link.endpoint!))) this.markDown(link, 'its address changed');
      link.nextBindAt = 0;
      this.c.wake?.();
    }
    return link;
  }

  remove(key: string, why: string): void {
    const link = this.links.get(key);
    if (!link) return;
    this.links.delete(key);
    this.bySlot.delete(link.slot);
    this.c.log.info('relay gone', { relay: link.label, why });
    link.up = false;
    this.c.linkDown(link);
  }

  /** The signal connection closed: the server drops our UDP relay binding with it, both links go at once. */
  serverGone(): void {
    this.setWs(false, undefined);
    this.down('server', 'the signal connection closed');
  }

  /** The WebSocket link is up exactly while the signalling connection is (and offers relaying). */
  setWs(up: boolean, rttMs: number | undefined): void {
    const link = this.upsert('ws', 'ws', 'ws', [], () => undefined);
    link.rttMs = rttMs;
    if (link.up === up) return;
    link.up = up;
    if (!up) this.c.linkDown(link);
  }

  /** Binds every link again now (our member id changed). */
  rebindAll(): void {
    for (const l of this.links.values()) {
      l.nextBindAt = 0;
      l.awaitingCredentials = false;
    }
    this.c.wake?.();
  }

  /** A member starts going through `link` at `now`: refresh it now (it may have been idle a while). */
  wake(link: RelayLink, now: number): void {
    link.nextBindAt = Math.min(link.nextBindAt, now);
    if (link.up) link.refreshDueAt = Math.min(link.refreshDueAt ?? Infinity, now);
  }

  /**
   * Since when an up link is silent: its last answer, or one REFRESH_MS before its first refresh
   * that went (or was due and is) unanswered; an idle link, asked seldom, is not silent between
   * its refreshes. A link refreshed every REFRESH_MS is so down DOWN_AFTER_MS after its last answer.
   */
  private silentSince(link: RelayLink): number {
    const due = Math.min(link.unansweredSince ?? Infinity, link.refreshDueAt ?? link.nextBindAt);
    return Math.max(link.lastBoundAt, due - REFRESH_MS);
  }

  /** When tick() next has something to do: a bind or refresh due, or an up link to declare down. */
  nextDeadline(): number {
    let at = Infinity;
    for (const link of this.links.values()) {
      if (link.kind === 'ws' || link.awaitingCredentials) continue;
      at = Math.min(at, link.nextBindAt);
      if (link.up) at = Math.min(at, this.silentSince(link) + DOWN_AFTER_MS + 1);
    }
    return at;
  }

  /** Marks link `key` down now (it binds again on the next ticks). */
  down(key: string, why: string): void {
    const link = this.links.get(key);
    if (link) this.markDown(link, why);
  }

  private markDown(link: RelayLink, why: string): void {
    if (!link.up) return;
    link.up = false;
    link.endpoint = undefined;
    link.unansweredSince = link.refreshDueAt = undefined;
    this.c.log.warn('relay down', { relay: link.label, why });
    this.c.linkDown(link);
  }

  tick(now: number): void {
    for (const [k, p] of this.pending) if (now - p.sentAt > DOWN_AFTER_MS) this.pending.delete(k);
    for (const link of this.links.values()) {
      if (link.kind === 'ws') continue;
      if (link.up && now - this.silentSince(link) > DOWN_AFTER_MS) this.markDown(link, `no answer for ${DOWN_AFTER_MS / 1000} s`);
      if (now < link.nextBindAt) continue;
      const cred = link.credentials();
      link.awaitingCredentials = !cred;
      if (!cred) continue;
      if (link.up) link.unansweredSince ??= Math.min(now, link.refreshDueAt ?? now);
      // Bound: refresh where it answered. Not bound: try every target (a bounce's LAN and public).
      const targets = link.up && link.endpoint ? [link.endpoint] : link.targets.slice(0, MAX_BIND_TARGETS);
      for (const to of targets) {
        const txid = randomBytes(RELAY_TXID_BYTES);
        this.pending.set(txid.toString('hex'), { link, to, sentAt: now });
        this.c.queue(encodeBind(txid, cred.id, cred.auth), to);
      }
      while (this.pending.size > PENDING_MAX * Math.max(1, this.links.size)) this.pending.delete(this.pending.keys().next().value!);
      link.bindAttempts = link.up ? 0 : link.bindAttempts + 1;
      const retryMax = link.kind === 'bounce' && link.lastBoundAt === -Infinity ? BOUNCE_NEVER_BOUND_RETRY_MAX_MS : RETRY_MAX_MS;
      link.nextBindAt = now + (link.up ? REFRESH_MS : Math.min(retryMax, RETRY_MS * 2 ** Math.max(0, link.bindAttempts - 5)));
      link.refreshDueAt = link.nextBindAt;
    }
  }

  /** A BOUND from `from`: the relay it came from holds our binding. */
  onBound(txid: Buffer, from: Endpoint, now = mono()): void {
    const key = txid.toString('hex');
    const p = this.pending.get(key);
    if (!p || !sameEndpoint(p.to, from) || this.links.get(p.link.key) !== p.link) return;
    this.pending.delete(key);
    const link = p.link;
    link.rttMs = now - p.sentAt;
    link.lastBoundAt = now;
    link.unansweredSince = undefined;
    // The next refresh: REFRESH_MS after this one was sent while a member goes through the link
    // (as scheduled when it was sent), IDLE_REFRESH_MS while none does.
    if (link.up && !(this.c.inUse?.(link) ?? true)) link.refreshDueAt = link.nextBindAt = Math.max(link.nextBindAt, p.sentAt + IDLE_REFRESH_MS);
    if (!link.up) {
      link.up = true;
      link.endpoint = from;
      link.refreshDueAt = link.nextBindAt = now + REFRESH_MS;
      this.c.log.info('relay up', { relay: link.label, endpoint: formatEndpoint(from), rttMs: Math.round(link.rttMs * 100) / 100 });
    }
  }

  /**
   * A CHALLENGE from `from`: the relay wants proof that we receive at our address before it binds
   * us there. We bind again at once with its cookie (same txid, so the BOUND still matches).
   */
  onChallenge(txid: Buffer, cookie: Buffer, from: Endpoint, now = mono()): void {
    const p = this.pending.get(txid.toString('hex'));
    if (!p || p.challenged || !sameEndpoint(p.to, from) || this.links.get(p.link.key) !== p.link) return;
    const cred = p.link.credentials();
    if (!cred) return;
    p.challenged = true; // one answer per BIND: a relay that keeps challenging gets no more
    p.sentAt = now; // the RTT is that of the second round
    this.c.queue(encodeBind(txid, cred.id, cred.auth, cookie), p.to);
  }

  /** The UDP link whose relay sent a datagram from `from`, if any. */
  byEndpoint(from: Endpoint): RelayLink | undefined {
    for (const l of this.links.values()) if (l.endpoint && sameEndpoint(l.endpoint, from)) return l;
    return undefined;
  }

  /** Sends `payload` to member `to` through `link`; false when the link cannot carry it now. */
  send(link: RelayLink, to: string, payload: Buffer): boolean {
    if (!link.up) return false;
    if (link.kind === 'ws') return this.c.sendWs(encodeWsFrame(to, payload));
    if (!link.endpoint) return false;
    this.c.queue(this.framer.frame(this.headers.get(to), payload), link.endpoint);
    return true;
  }
}
