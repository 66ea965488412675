// NAT behaviours (RFC 4787 mapping and filtering) as nftables rulesets for a lab router. A
// router has two interfaces, `wan` (outside) and `lan` (inside); all of its NAT and firewall
// rules live in one table, `ip natlab`, replaced atomically when the kind changes.
//
//   kind             mapping                     filtering (of inbound UDP to a mapping)
//   port-restricted  endpoint-independent (EIM)  address-and-port-dependent (APDF)  = plain masquerade
//   symmetric        endpoint-dependent (EDM)    APDF                               = masquerade fully-random
//   restricted-cone  EIM                         address-dependent (ADF)            = learned maps, see below
//   full-cone        EIM                         endpoint-independent (EIF)         = learned maps, see below
//   udp-blocked      (UDP never leaves; TCP and ICMP are masqueraded like port-restricted)
//
// Linux conntrack on its own only knows APDF: an inbound packet that matches no connection is
// for the router itself. The cone kinds therefore learn, from every UDP packet leaving on wan
// (after source NAT, so the packet already carries its external port), a map
//   external port -> LAN host address . port          (@in4: where inbound packets go)
//   LAN host address . port -> external port          (@out4: keeps the mapping for new destinations)
// plus, for restricted-cone, the set of (external port . remote address) contacted (@seen). An
// inbound packet that starts a new connection is DNATed through @in4 (full-cone: always;
// restricted-cone: only if its source address is in @seen for that port). Learned entries live
// 180 s after the last outbound packet; flushNatState() forgets them with conntrack's.
//
// The input chain drops new inbound traffic on wan (ICMP echo excepted), as home routers do. That
// also matters for the mappings: a probe accepted by the router's input path would leave a
// conntrack entry R:p -> WAN:m, and a later outbound flow H:h -> R:p then could no longer use
// external port m (its reply tuple is taken) and would be given another port.
import { nsName, type NsRef } from './netns.js';
import { runCommand } from './process.js';

export const NAT_KINDS = ['full-cone', 'restricted-cone', 'port-restricted', 'symmetric', 'udp-blocked'] as const;
export type NatKind = (typeof NAT_KINDS)[number];

export const NAT_TABLE = 'natlab';
export const WAN_IF = 'wan';
export const LAN_IF = 'lan';
/** How long a cone mapping outlives the last outbound packet (conntrack's UDP stream timeout is 120 s). */
const CONE_TIMEOUT = '180s';

export function isNatKind(s: string): s is NatKind {
  return (NAT_KINDS as readonly string[]).includes(s);
}

/** The complete `ip natlab` table for `kind`, as `nft -f` input that replaces any previous one. */
export function natRuleset(kind: NatKind): string {
  const cone = kind === 'full-cone' || kind === 'restricted-cone';
  const lines = [
    // Declaring then deleting makes the delete safe when the table does not exist yet.
    `table ip ${NAT_TABLE}`,
    `delete table ip ${NAT_TABLE}`,
    `table ip ${NAT_TABLE} {`,
    `  comment "${kind}"`,
    ...(cone ? coneSets(kind) : []),
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname "${WAN_IF}" ct state established,related accept`,
    `    iifname "${WAN_IF}" icmp type echo-request accept`,
    `    iifname "${WAN_IF}" drop`,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy drop;`,
    ...(kind === 'udp-blocked' ? [`    iifname "${LAN_IF}" meta l4proto udp drop`] : []),
    `    ct state established,related accept`,
    `    iifname "${LAN_IF}" oifname "${WAN_IF}" accept`,
    ...(cone ? [`    iifname "${WAN_IF}" oifname "${LAN_IF}" ct status dnat accept`] : []),
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    ...sourceNat(kind).map((r) => `    oifname "${WAN_IF}" ${r}`),
    `  }`,
    ...(cone ? coneChains(kind) : []),
    `}`,
  ];
  return lines.join('\n') + '\n';
}

function sourceNat(kind: NatKind): string[] {
  switch (kind) {
    case 'symmetric':
      return ['masquerade fully-random'];
    case 'port-restricted':
    case 'udp-blocked':
      return ['masquerade'];
    case 'full-cone':
    case 'restricted-cone':
      return [
        // A host port already mapped keeps its external port, whatever the destination.
        'meta l4proto udp masquerade to : ip saddr . udp sport map @out4',
        // A new one keeps its own number unless another host owns that external port...
        'udp sport != @used masquerade',
        // ...in which case it gets a random one (the learning chain then makes it stick).
        'meta l4proto udp masquerade fully-random',
        'masquerade',
      ];
  }
}

function coneSets(kind: NatKind): string[] {
  const dyn = `flags dynamic, timeout; timeout ${CONE_TIMEOUT};`;
  return [
    `  map in4 { type inet_service : ipv4_addr . inet_service; ${dyn} }`,
    `  map out4 { type ipv4_addr . inet_service : inet_service; ${dyn} }`,
    `  set used { type inet_service; ${dyn} }`,
    ...(kind === 'restricted-cone' ? [`  set seen { type inet_service . ipv4_addr; ${dyn} }`] : []),
  ];
}

function coneChains(kind: NatKind): string[] {
  const admit = kind === 'restricted-cone' ? 'udp dport . ip saddr @seen ' : '';
  // (`meta l4proto udp` gives ct proto-src its type.) The LAN end of a flow is the source of its original tuple when the host started it, and the
  // source of its reply tuple when the flow came in through @in4 and the host is answering.
  const learn = (dir: 'original' | 'reply'): string[] => {
    const host = `ct ${dir} ip saddr . ct ${dir} proto-src`;
    return [
      `    meta l4proto udp ct direction ${dir} update @in4 { udp sport : ${host} }`,
      `    meta l4proto udp ct direction ${dir} update @out4 { ${host} : udp sport }`,
    ];
  };
  return [
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    iifname "${WAN_IF}" ${admit}dnat ip to udp dport map @in4`,
    `  }`,
    `  chain learn {`,
    // After srcnat, so `udp sport` is the external port.
    `    type filter hook postrouting priority srcnat + 10; policy accept;`,
    `    oifname != "${WAN_IF}" accept`,
    ...learn('original'),
    ...learn('reply'),
    `    meta l4proto udp update @used { udp sport }`,
    ...(kind === 'restricted-cone' ? [`    meta l4proto udp update @seen { udp sport . ip daddr }`] : []),
    `  }`,
  ];
}

/** Loads `kind`'s ruleset into the router namespace, atomically replacing the previous one. */
export async function applyNatKind(router: NsRef, kind: NatKind): Promise<void> {
  await runCommand('ip', ['netns', 'exec', nsName(router), 'nft', '-f', '-'], { input: natRuleset(kind) });
}

/** The kind last loaded into the router (read back from the table's comment), if any. */
export async function currentNatKind(router: NsRef): Promise<NatKind | undefined> {
  const r = await runCommand('ip', ['netns', 'exec', nsName(router), 'nft', 'list', 'table', 'ip', NAT_TABLE], { allowFail: true });
  const m = /comment "([\w-]+)"/.exec(r.stdout);
  return m && isNatKind(m[1]) ? m[1] : undefined;
}

/**
 * Forgets every mapping and pinhole of the router: all conntrack entries and, for the cone
 * kinds, the learned maps (by reloading the same ruleset).
 */
export async function flushNatState(router: NsRef): Promise<void> {
  const kind = await currentNatKind(router);
  if (kind === 'full-cone' || kind === 'restricted-cone') await applyNatKind(router, kind);
  // conntrack -F exits 0 with nothing to flush; its "flow entries have been deleted" goes to stderr.
  await runCommand('ip', ['netns', 'exec', nsName(router), 'conntrack', '-F']);
}
