// The gateway's port mapping as a candidate of its own: granted, moved or lost, our candidate list
// changes and is announced at once.
import { formatEndpoint, type Endpoint } from '../../../shared/net/address.js';
import type { Logger } from '../../../shared/log.js';
import { describe } from '../paths/direct/path-keeper.js';
import type { LocalCandidates } from './local-candidates.js';

export interface PortmapCandidateContext {
  local: LocalCandidates;
  log: Logger;
  announceUpdate(): void;
  closed(): boolean;
}

export function portmapChanged(c: PortmapCandidateContext, external: Endpoint | undefined): void {
  if (c.closed() || !c.local.setPortmap(external)) return;
  c.log.info(external ? 'port mapping up' : 'port mapping gone', { ...(external && { mapped: formatEndpoint(external) }), candidates: describe(c.local.list()) });
  c.announceUpdate();
}
