// A Tunnel run the way wg-quick runs one: PreUp once the device exists, then DNS, then PostUp
// (a failure there takes everything down again); on stop PreDown, the tunnel down, DNS back,
// PostDown. The control socket gains `stop`, which `wgp2p down` uses.
import { applyDns, type AppliedDns, type DnsMethod } from '../tun/dns-config.js';
import { Tunnel, type TunnelOptions } from './tunnel.js';
import { runHooks, runHooksBestEffort } from './wg-quick-hooks.js';

export const STOPPED_BY_DOWN = 'stopped by wgp2p down';

export interface QuickTunnelOptions extends TunnelOptions {
  dnsMethod?: DnsMethod | 'auto';
}

export class QuickTunnel {
  private stopping: Promise<void> | undefined;
  private readonly stoppedCallbacks: ((reason: string) => void)[] = [];

  private constructor(
    readonly tunnel: Tunnel,
    private readonly opts: QuickTunnelOptions,
    private dns: AppliedDns | undefined,
  ) {}

  static async start(opts: QuickTunnelOptions): Promise<QuickTunnel> {
    const { hooks, dns } = opts.config.interface;
    let self: QuickTunnel | undefined;
    const tunnel = await Tunnel.start({
      ...opts,
      beforeConfigure: (ifname) => runHooks(hooks, 'PreUp', ifname, opts.log),
      controlHandlers: {
        ...opts.controlHandlers,
        // Answer first, then stop: the caller waits for our pid to go.
        stop: () => {
          setImmediate(() => void self?.stop(STOPPED_BY_DOWN));
          return { pid: process.pid };
        },
      },
    });
    let applied: AppliedDns | undefined;
    try {
      applied = await applyDns(tunnel.ifname, dns, opts.dnsMethod);
      if (applied) opts.log.info('DNS set', { method: applied.method, servers: dns?.servers, search: dns?.search });
      await runHooks(hooks, 'PostUp', tunnel.ifname, opts.log);
    } catch (e) {
      // As wg-quick: a failed start restores DNS and removes the device, without the down hooks.
      await applied?.undo().catch((u: Error) => opts.log.warn('DNS not restored', { error: u.message }));
      tunnel.close('startup failed');
      throw e;
    }
    self = new QuickTunnel(tunnel, opts, applied);
    tunnel.onClosed((reason) => void self?.stop(reason));
    return self;
  }

  get ifname(): string {
    return this.tunnel.ifname;
  }

  /** Called once, after the down hooks ran, with why the tunnel stopped. */
  onStopped(cb: (reason: string) => void): void {
    this.stoppedCallbacks.push(cb);
  }

  /** PreDown, tunnel down, DNS back, PostDown; idempotent (also runs when the tunnel closed by itself). */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.down(reason);
    return this.stopping;
  }

  private async down(reason: string): Promise<void> {
    const { log, config } = this.opts;
    const ifname = this.tunnel.ifname;
    await runHooksBestEffort(config.interface.hooks, 'PreDown', ifname, log);
    this.tunnel.close(reason);
    const dns = this.dns;
    this.dns = undefined;
    await dns?.undo().catch((e: Error) => log.warn('DNS not restored', { error: e.message }));
    await runHooksBestEffort(config.interface.hooks, 'PostDown', ifname, log);
    for (const cb of this.stoppedCallbacks) cb(reason);
  }
}
