// Prometheus text exposition format 0.0.4, for the server's and the agent's /metrics: one
// family layout (HELP, TYPE, samples) and one sample line, with label values escaped.

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

/** Backslash, double quote and newline are the characters a label value must escape. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

export function sampleLine(name: string, sample: Sample): string {
  const labels = Object.entries(sample.labels ?? {});
  const set = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : '';
  return `${name}${set} ${sample.value}`;
}

/** A family with one sample per entry of `values`, labelled `label`. */
export function labelled(name: string, help: string, type: MetricType, label: string, values: Readonly<Record<string, number>> | Iterable<[string, number]>): MetricFamily {
  const entries = Symbol.iterator in values ? [...(values as Iterable<[string, number]>)] : Object.entries(values);
  return { name, help, type, samples: entries.map(([k, value]) => ({ labels: { [label]: k }, value })) };
}

/** A family with one unlabelled sample. */
export function single(name: string, help: string, type: MetricType, value: number): MetricFamily {
  return { name, help, type, samples: [{ value }] };
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(sampleLine(f.name, s));
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
