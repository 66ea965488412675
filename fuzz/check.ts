// Runs a fast-check property inside a tap test so a failure lands in tap's output with the
// seed and shrunk path needed to replay it (FC_SEED=... FC_PATH=... npx tap <file>).
import fc from 'fast-check';

interface Reporter {
  fail(message: string): unknown;
  pass(message: string): unknown;
}

export function checkProperty<T>(t: Reporter, name: string, property: fc.IProperty<T>, params: fc.Parameters<T> = {}): void {
  const replay = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH };
  const result = fc.check(property, { ...params, ...replay });
  if (result.failed) t.fail(`${name}\n${fc.defaultReportMessage(result) ?? 'property failed'}`);
  else t.pass(`${name} (${result.numRuns} runs)`);
}
