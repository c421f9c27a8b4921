/**
 * What every benchmark shares: the row it reports, the interleaved rounds it measures ours and its
 * baseline in, and how a row is judged against its target. Benchmarks (`*.bench.ts`) export
 * `rows(options)` (or `run(options)`) returning rows; `run.ts` runs each in its own process and prints
 * one table. Nothing here asserts on time: a row passes or fails against its stated target.
 */

export interface BenchOptions {
  /** CI-sized smoke run: small sizes, few rounds; proves every row is produced, not how fast. */
  quick: boolean;
  /** Prints a progress line (to stderr, so the table stays readable). */
  log(line: string): void;
}

/**
 * A target: `ratio` compares the median of per-round ratios (ours ÷ baseline), `ours` compares our
 * median itself (a count, a size, a check). `=` is an exact count.
 */
export interface Target {
  of: "ratio" | "ours";
  compare: "<=" | ">=" | "=";
  value: number;
}

export interface BenchRow {
  /** What is measured, with its size (`(b) reconcile, 1 % drift of 10,000 peers`). */
  name: string;
  /** Unit of `ours` and `baseline`: `ms`, `req/s`, `jobs/s`, `MB`, `writes`, `ms/node`… */
  unit: string;
  /** Our median. */
  ours: number;
  /** What the baseline is, in a few words; null when the row has none (a count or a check). */
  baselineName: string | null;
  /** The baseline's median, measured in the same rounds as ours. */
  baseline: number | null;
  /** Median of the per-round ratios ours ÷ baseline (not the ratio of the medians). */
  ratio: number | null;
  /** Paired rounds behind the medians (1 for a single measurement). */
  rounds: number;
  /** Null only for a row a module sent without one: it is shown, and fails (nothing to judge it by). */
  target: Target | null;
  /** Why the number is what it is, or what it includes (one line). */
  note?: string;
}

export type Verdict = "PASS" | "FAIL";

/** Whether `row` meets its target. A missing target, or a missing or non-finite value, fails. */
export function verdict(row: BenchRow): Verdict {
  if (row.target === null) return "FAIL";
  const value = row.target.of === "ratio" ? row.ratio : row.ours;
  if (value === null || !Number.isFinite(value)) return "FAIL";
  const { compare, value: limit } = row.target;
  const met = compare === "<=" ? value <= limit : compare === ">=" ? value >= limit : value === limit;
  return met ? "PASS" : "FAIL";
}

/** `≤ 0.50×`, `≥ 0.8×`, `= 0 writes`… */
export function describeTarget(row: BenchRow): string {
  if (row.target === null) return "none stated";
  const sign = { "<=": "≤", ">=": "≥", "=": "=" }[row.target.compare];
  return row.target.of === "ratio"
    ? `${sign} ${row.target.value}×`
    : `${sign} ${row.target.value} ${row.unit}`;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The `q` quantile (nearest rank) of `xs`. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

export interface Paired {
  ours: number[];
  base: number[];
}

/**
 * `rounds` rounds of ours and the baseline, alternating which goes first, each side's value returned
 * by its function (a time, or a throughput). `prepare` runs untimed before each side (it makes the
 * state both start from).
 */
export async function interleave(
  rounds: number,
  sides: { prepare?: () => Promise<unknown>; ours: () => Promise<number>; base: () => Promise<number> },
): Promise<Paired> {
  const out: Paired = { ours: [], base: [] };
  const ours = async () => {
    await sides.prepare?.();
    out.ours.push(await sides.ours());
  };
  const base = async () => {
    await sides.prepare?.();
    out.base.push(await sides.base());
  };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) await ours().then(base);
    else await base().then(ours);
  }
  return out;
}

/** A target written as text by a module (`≤ 1.5×`, `>= 0.8x`, `= 0`), or already structured. */
export function parseTarget(raw: unknown): Target {
  if (raw && typeof raw === "object") return raw as Target;
  const text = String(raw ?? "").trim();
  const m = /^(≤|<=|≥|>=|=)\s*([0-9.]+)\s*(×|x)?/.exec(text);
  if (!m)
    throw new Error(
      `unreadable target ${JSON.stringify(raw)}: write it as "≤ 1.5×" or { of, compare, value }`,
    );
  const compare = m[1] === "≤" || m[1] === "<=" ? "<=" : m[1] === "=" ? "=" : ">=";
  return { of: m[3] ? "ratio" : "ours", compare, value: Number(m[2]) };
}

/**
 * Rows as the harness prints them. Modules written against the short shape
 * `{ name, ours, baseline, ratio, unit, target? }` plug in too. A row without a target is kept and
 * fails (a row that cannot fail says nothing); one with an unreadable target throws.
 */
export function normaliseRow(raw: Record<string, unknown>): BenchRow {
  const baseline = typeof raw.baseline === "number" ? raw.baseline : null;
  return {
    name: String(raw.name),
    unit: String(raw.unit ?? ""),
    ours: Number(raw.ours),
    baselineName:
      typeof raw.baselineName === "string" ? raw.baselineName : baseline === null ? null : "baseline",
    baseline,
    ratio: typeof raw.ratio === "number" ? raw.ratio : null,
    rounds: typeof raw.rounds === "number" ? raw.rounds : 1,
    target: raw.target === undefined ? null : parseTarget(raw.target),
    ...(typeof raw.note === "string" ? { note: raw.note } : {}),
  };
}

/** Milliseconds `fn` takes. */
export async function elapsedMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** A row from paired rounds: medians of each side and the median of the per-round ratios. */
export function pairedRow(
  fields: Omit<BenchRow, "ours" | "baseline" | "ratio" | "rounds" | "baselineName"> & {
    baselineName: string;
  },
  paired: Paired,
): BenchRow {
  const ratios = paired.ours.map((o, i) => o / paired.base[i]!);
  return {
    ...fields,
    ours: median(paired.ours),
    baseline: median(paired.base),
    ratio: median(ratios),
    rounds: paired.ours.length,
  };
}

/** A row of our own figure against a target (a count, a size, a check), with no baseline. */
export function checkRow(
  fields: Omit<BenchRow, "baseline" | "ratio" | "baselineName" | "rounds"> & {
    rounds?: number;
  },
): BenchRow {
  return { rounds: 1, ...fields, baselineName: null, baseline: null, ratio: null };
}

/** Resolves once `check` returns true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 60_000, everyMs = 2 } = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
