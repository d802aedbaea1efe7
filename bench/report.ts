// Small helpers for the report: medians, number formats, Markdown tables.

export function median (values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** A number with `digits` decimals and thousands separators; "–" when not a number. */
export function num (value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '–'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export const ratio = (a: number, b: number): string => num(a / b, 2) + '×'

/**
 * ours[i] / theirs[i], round by round. The targets of one round run back to back, so a
 * machine whose speed drifts over minutes (a shared one does) moves both sides alike;
 * the median of these is steadier than a ratio of medians taken from different rounds.
 */
export const roundRatios = (ours: number[], theirs: number[]): number[] => theirs.map((x, i) => (ours[i] ?? Number.NaN) / x)
export const percent = (value: number): string => num(value * 100) + ' %'
export const mib = (kib: number): string => num(kib / 1024) + ' MiB'

/** A Markdown table; columns after the first are right-aligned. */
export function table (headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length), 3))
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join(' | ') + ' |'
  const rule = '|' + widths.map((w, i) => i === 0 ? ' ' + '-'.repeat(w) + ' ' : ' ' + '-'.repeat(w - 1) + ': ').join('|') + '|'
  return [line(headers), rule, ...rows.map(line)].join('\n')
}
