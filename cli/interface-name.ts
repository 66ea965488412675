// Interface names as Linux takes them (IFNAMSIZ less the NUL), checked before any device exists.
import { asText, badValue } from '../shared/config/values.js';

const IFNAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

export function isInterfaceName(text: string): boolean {
  return IFNAME.test(text);
}

export function parseInterfaceName(raw: unknown, where: string): string {
  const text = asText(raw, where);
  if (!isInterfaceName(text)) throw badValue(where, `interface name "${text}" is invalid (1–15 of A-Z a-z 0-9 _=+.-)`);
  return text;
}
