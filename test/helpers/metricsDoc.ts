import fs from 'node:fs';

export interface DocumentedFamily {
  name: string;
  type: string;
  labels: string[];
  alerts: string[];
}

const DOC = new URL('../../docs/metrics.md', import.meta.url);

/** The rows between `<!-- NAME:start -->` and `<!-- NAME:end -->`, split into trimmed cells. */
function tableRows(text: string, name: string): string[][] {
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`docs/metrics.md has no ${name} markers`);
  return text
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // header and separator
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

/** Backquoted names in a cell (`—` gives none). */
const names = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** The catalogue of docs/metrics.md: one entry per family row, and the alerts table. */
export function readMetricsDoc(): { families: DocumentedFamily[]; alerts: { name: string; families: string[] }[] } {
  const text = fs.readFileSync(DOC, 'utf8');
  const families = tableRows(text, 'metrics-table').map((cells) => {
    if (cells.length !== 5) throw new Error(`docs/metrics.md: a family row needs 5 cells, got ${cells.length}: ${cells.join(' | ')}`);
    const [name, type, labels, , alerts] = cells as [string, string, string, string, string];
    const [family] = names(name);
    if (!family) throw new Error(`docs/metrics.md: no backquoted family name in "${name}"`);
    return { name: family, type, labels: names(labels), alerts: names(alerts) };
  });
  const alerts = tableRows(text, 'alerts-table').map((cells) => ({ name: names(cells[0]!)[0]!, families: names(cells[2] ?? '') }));
  return { families, alerts };
}
