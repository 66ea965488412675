// Typed handles on e2e/tools/udp-probe.mjs: echo targets on public hosts, which tell a sender
// the address they see, and probe hosts behind NATs, which report their mappings, print what
// reaches them and send on command. See nat-measure.ts for how they classify a NAT.
import { join } from 'node:path';
import type { Netns } from './netns.js';
import type { ManagedProcess } from './process.js';
import { projectRoot } from './wgp2p-tunnel.js';

export const PROBE_PORT = 3478;

const tool = (): string => join(projectRoot(), 'e2e/tools/udp-probe.mjs');

export interface Datagram {
  from: string;
  text: string;
}

function parseLines<T>(stdout: string, pick: (o: Record<string, unknown>) => T | undefined): T[] {
  const out: T[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const v = pick(JSON.parse(line) as Record<string, unknown>);
    if (v !== undefined) out.push(v);
  }
  return out;
}

const asDatagram = (o: Record<string, unknown>): Datagram | undefined =>
  typeof o.from === 'string' && typeof o.text === 'string' ? { from: o.from, text: o.text } : undefined;

/** A UDP echo target: answers "whoami" with the sender's address as seen from here. */
export class EchoTarget {
  private constructor(
    readonly ns: Netns,
    readonly address: string,
    readonly port: number,
    readonly proc: ManagedProcess,
  ) {}

  static async start(ns: Netns, address: string, port = PROBE_PORT): Promise<EchoTarget> {
    const proc = ns.spawn('node', [tool(), 'echo', String(port)], { name: `${ns.name}.echo.${port}` });
    await proc.waitForOutput(/listening/, 10_000);
    return new EchoTarget(ns, address, port, proc);
  }

  get endpoint(): string {
    return `${this.address}:${this.port}`;
  }

  /** Every datagram this target received so far. */
  received(): Datagram[] {
    return parseLines(this.proc.stdout, asDatagram);
  }

  /** Makes the target send `text` to `to` from its echo port (the endpoint a host contacted). */
  async relay(to: string, text: string): Promise<void> {
    await this.sendFrom(0, `127.0.0.1:${this.port}`, `relay ${to} ${text}`);
  }

  /** Sends `text` to `to` from another port of this address (0: any free port). */
  async sendFrom(fromPort: number, to: string, text: string): Promise<void> {
    await this.ns.exec('node', [tool(), 'send', String(fromPort), to, text], { timeoutMs: 10_000 });
  }
}

export interface ProbeHostOptions {
  /** How long to keep asking an unanswered target (default 1500 ms). */
  askTimeoutMs?: number;
}

/** A host-side probe bound to one UDP port: asks targets whoami, then listens and obeys "send". */
export class ProbeHost {
  private constructor(
    readonly ns: Netns,
    readonly port: number,
    readonly proc: ManagedProcess,
    readonly mapped: Readonly<Record<string, string | null>>,
  ) {}

  static async start(ns: Netns, port: number, targets: readonly EchoTarget[], opts: ProbeHostOptions = {}): Promise<ProbeHost> {
    const env = { ASK_TIMEOUT_MS: String(opts.askTimeoutMs ?? 1500) };
    const proc = ns.spawn('node', [tool(), 'host', String(port), ...targets.map((t) => t.endpoint)], { name: `${ns.name}.probe.${port}`, env });
    const m = await proc.waitForOutput(/^\{"mapped":.*\}$/m, 15_000);
    const mapped = (JSON.parse(m[0]) as { mapped: Record<string, string | null> }).mapped;
    return new ProbeHost(ns, port, proc, mapped);
  }

  /** The external address:port `target` saw this host's port as, if it answered. */
  mappedBy(target: EchoTarget): string | undefined {
    return this.mapped[target.endpoint] ?? undefined;
  }

  /** Every datagram received after the asks (answers to later whoamis included). */
  received(): Datagram[] {
    return parseLines(this.proc.stdout, asDatagram);
  }

  /** True once a datagram with this exact text arrived. */
  got(text: string): boolean {
    return this.received().some((d) => d.text === text);
  }

  async stop(): Promise<void> {
    await this.proc.kill('SIGTERM', 1_000);
  }
}
