// Options of the commands that talk to a running daemon (`wgp2p status`, `wgp2p ping`).
import type { Option } from '../shared/config/options.js';
import { parseBool } from '../shared/config/values.js';
import { parseInterfaceName } from './interface-name.js';

export const CONTROL_OPTIONS = {
  interface: { parse: parseInterfaceName, value: 'IF', help: 'the daemon to ask (default: the only one running)' },
  json: { parse: parseBool, boolean: true, default: false, help: 'JSON output' },
} satisfies Record<string, Option<unknown>>;
