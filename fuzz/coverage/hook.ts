// Module loader hook for `npm run fuzz` (registered by fuzz/run.ts): the project's compiled
// modules load with coverage probes (instrument.ts); the fuzzer itself and node_modules do not.
import { instrument } from './instrument.js';

const DIST = new URL('../../', import.meta.url).href; // dist/fuzz/coverage/ → dist/
const FUZZ = new URL('../', import.meta.url).href;
let nextId = 1;

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const loaded = await nextLoad(url, context);
  if (!url.startsWith(DIST) || url.startsWith(FUZZ) || url.includes('/node_modules/') || !url.endsWith('.js') || loaded.format !== 'module' || loaded.source === undefined) return loaded;
  const source = typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
  const result = instrument(source, url, nextId);
  nextId = result.nextId;
  return { ...loaded, source: result.code, shortCircuit: true };
}
