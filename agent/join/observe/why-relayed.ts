// "Why relayed?": for a member we reach through a relay (or the hub, or not at all), the reason in
// words and in fields, from what both sides announced (NAT mapping and filtering, candidates),
// what our punching tried, the gateway port mapping, and how birthday punching went. Pure: the
// caller gathers the facts (observe/control.ts), this decides what they mean.
import { formatEndpoint, type Endpoint } from '../../../shared/net/address.js';
import type { Candidate } from '../nat/candidates.js';
import type { NatInfo } from '../room/announcement.js';

/** A NAT in one word, the way users read about them (RFC 4787 terms are in the fields). */
export type NatLabel = 'open' | 'cone' | 'port-restricted' | 'symmetric' | 'unknown';

/** Stable codes for scripts; the words may change, these do not. */
export type RelayReasonCode =
  | 'symmetric-both'
  | 'symmetric-vs-port-restricted'
  | 'same-nat-same-port'
  | 'no-candidates'
  | 'nat-unknown'
  | 'punch-failed'
  | 'punching';

/** How birthday punching (paths/direct/birthday.ts) went for this pair, as far as we know. */
export interface BirthdayReport {
  /** not-applicable: the NATs do not call for it; pending: not started yet (or waiting to retry). */
  state: 'not-applicable' | 'pending' | 'running' | 'succeeded' | 'failed';
  /** Our side's part: open many sockets (hard) or probe random ports (easy). */
  role?: 'hard' | 'easy';
  attempts: number;
  /** Probes (easy side) or sockets (hard side) in the latest attempt. */
  probes?: number;
  sockets?: number;
  /** When the next attempt may start, ms from now (backoff after a failure). */
  retryInMs?: number;
  /** No attempt: the member announces `announced`, the signal server sees it at `seen` (birthday-attest.ts). */
  refused?: { announced: string; seen: string };
}

export interface PortmapFacts {
  /** `--no-portmap`: we never asked. */
  enabled: boolean;
  /** The mapping our gateway granted, if any. */
  ours: Endpoint | undefined;
}

export interface RelayFacts {
  ours: { nat: NatInfo; candidates: readonly Candidate[]; listenPort: number };
  theirs: { nat: NatInfo; candidates: readonly Candidate[] };
  portmap: PortmapFacts;
  /** What our punching probed ("kind ip:port"), and how many sessions found nothing. */
  tried: readonly string[];
  failedSessions: number;
  birthday: BirthdayReport;
}

export interface WhyRelayed {
  code: RelayReasonCode;
  reason: string;
  hint?: string;
  ours: NatInfo & { label: NatLabel };
  theirs: NatInfo & { label: NatLabel };
  candidatesTried: string[];
  portmap: { ours: string; theirs: string };
  birthday: BirthdayReport;
}

export function natLabel(n: NatInfo): NatLabel {
  if (n.mapping === 'endpoint-dependent') return 'symmetric';
  if (n.mapping === 'unknown') return 'unknown';
  return n.filtering === 'port-dependent' ? 'port-restricted' : n.filtering === 'port-independent' ? 'cone' : 'unknown';
}

const isSymmetric = (n: NatInfo) => n.mapping === 'endpoint-dependent';
const isPortRestricted = (n: NatInfo) => n.mapping === 'endpoint-independent' && n.filtering === 'port-dependent';

function publicOf(list: readonly Candidate[]): Candidate | undefined {
  return list.find((c) => c.kind === 'public');
}

/** Two members behind one NAT, both binding the same local port: the NAT rewrites one of them. */
function sameNatSamePort(f: RelayFacts): number | undefined {
  const a = publicOf(f.ours.candidates);
  const b = publicOf(f.theirs.candidates);
  if (!a || !b || a.endpoint.address !== b.endpoint.address) return undefined;
  const theirPorts = f.theirs.candidates.filter((c) => c.kind === 'lan').map((c) => c.endpoint.port);
  return theirPorts.includes(f.ours.listenPort) ? f.ours.listenPort : undefined;
}

function birthdayWords(b: BirthdayReport): string {
  if (b.refused) return `birthday punching refused: it announces ${b.refused.announced}, the signal server sees it at ${b.refused.seen}`;
  switch (b.state) {
    case 'not-applicable':
      return '';
    case 'pending':
      return b.attempts > 0 ? `birthday punching failed ${b.attempts}×, next try in ${Math.ceil((b.retryInMs ?? 0) / 1000)} s` : 'birthday punching will start shortly';
    case 'running':
      return `birthday punching under way (${b.role === 'hard' ? `${b.sockets ?? 0} sockets open` : `${b.probes ?? 0} probes sent`})`;
    case 'failed':
      return `birthday punching failed after ${b.attempts} attempt(s)`;
    case 'succeeded':
      return 'birthday punching found a path';
  }
}

/** Says why the pair is relayed. */
export function whyRelayed(f: RelayFacts): WhyRelayed {
  const ours = f.ours.nat;
  const theirs = f.theirs.nat;
  const theirPortmap = f.theirs.candidates.find((c) => c.kind === 'portmap');
  const portmap = {
    ours: !f.portmap.enabled ? 'off (--no-portmap)' : f.portmap.ours ? formatEndpoint(f.portmap.ours) : 'none granted',
    theirs: theirPortmap ? formatEndpoint(theirPortmap.endpoint) : 'none announced',
  };
  const anyPortmap = !!f.portmap.ours || !!theirPortmap;
  const base = {
    ours: { ...ours, label: natLabel(ours) },
    theirs: { ...theirs, label: natLabel(theirs) },
    candidatesTried: [...f.tried],
    portmap,
    birthday: f.birthday,
  };
  const mappedHint = anyPortmap ? 'a port mapping exists but did not answer: the router may sit behind another NAT (double NAT)' : undefined;
  const noMapping = 'enable UPnP, NAT-PMP or PCP on either router (wgp2p asks for a mapping unless --no-portmap)';
  const samePort = sameNatSamePort(f);
  if (samePort !== undefined) {
    return { ...base, code: 'same-nat-same-port', reason: `both behind one NAT (${f.ours.candidates.find((c) => c.kind === 'public')!.endpoint.address}) with the same source port ${samePort}, and their LAN addresses did not answer`, hint: 'both behind one NAT with the same source port: give one of them another --listen-port, or let their LAN addresses reach each other' };
  }
  if (f.theirs.candidates.length === 0) {
    return { ...base, code: 'no-candidates', reason: 'the member announced no address to probe (it may not have reached the STUN server yet)' };
  }
  if (isSymmetric(ours) && isSymmetric(theirs)) {
    return { ...base, code: 'symmetric-both', reason: 'symmetric × symmetric: both NATs pick a new port for every destination, so neither side can predict the other\'s', hint: mappedHint ?? `no direct path possible without port mapping: ${noMapping}` };
  }
  if ((isSymmetric(ours) && isPortRestricted(theirs)) || (isSymmetric(theirs) && isPortRestricted(ours))) {
    const side = isSymmetric(ours) ? 'ours is symmetric, theirs port-restricted' : 'theirs is symmetric, ours port-restricted';
    const words = birthdayWords(f.birthday);
    return {
      ...base,
      code: 'symmetric-vs-port-restricted',
      reason: `symmetric × port-restricted (${side}): ordinary punching cannot work${words ? `; ${words}` : ''}`,
      hint: mappedHint ?? (f.birthday.state === 'failed' || (f.birthday.state === 'pending' && f.birthday.attempts > 0) ? `birthday punching is a gamble; a port mapping is not: ${noMapping}` : undefined),
    };
  }
  if (ours.mapping === 'unknown' || theirs.mapping === 'unknown') {
    const who = ours.mapping === 'unknown' && theirs.mapping === 'unknown' ? 'either side' : ours.mapping === 'unknown' ? 'our side' : 'their side';
    return { ...base, code: 'nat-unknown', reason: `the NAT behaviour of ${who} is unknown (its STUN discovery got no full answer)`, ...(f.failedSessions > 0 && { hint: mappedHint ?? 'UDP may be blocked or rate-limited on the way; `wgp2p netcheck` tells more' }) };
  }
  if (f.failedSessions > 0) {
    return { ...base, code: 'punch-failed', reason: `the NATs allow punching, but ${f.failedSessions} session(s) probing ${f.tried.length} candidate(s) got no answer`, hint: mappedHint ?? 'a firewall may drop UDP between the two; `wgp2p netcheck` on both sides tells more' };
  }
  return { ...base, code: 'punching', reason: 'punching is still under way; the relay carries traffic meanwhile' };
}

/** One line for `status` and `ping` text output. */
export function formatWhyRelayed(w: WhyRelayed): string {
  const fields = `nat ours ${w.ours.label} (${w.ours.mapping} mapping, ${w.ours.filtering} filtering), theirs ${w.theirs.label} (${w.theirs.mapping}, ${w.theirs.filtering}); portmap ours ${w.portmap.ours}, theirs ${w.portmap.theirs}; tried ${w.candidatesTried.length ? w.candidatesTried.join(', ') : 'nothing'}; birthday ${w.birthday.state}`;
  return `relayed: ${w.reason}${w.hint ? ` — hint: ${w.hint}` : ''} [${fields}]`;
}
