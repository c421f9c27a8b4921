/** Checks that log output is what a log collector can read: one JSON object per line, no key twice. */

/**
 * The keys that appear more than once in one object of `json` (at any depth). `JSON.parse` keeps the
 * last of them silently, so only a scan of the text sees them.
 */
export function duplicateKeys(json: string): string[] {
  const objects: (Set<string> | undefined)[] = [];
  const duplicates: string[] = [];
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === "\\" ? 2 : 1;
      let next = end + 1;
      while (/\s/.test(json[next] ?? "")) next++;
      const keys = objects.at(-1);
      if (json[next] === ":" && keys) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) duplicates.push(key);
        keys.add(key);
      }
      i = end;
    } else if (ch === "{") objects.push(new Set());
    else if (ch === "[") objects.push(undefined);
    else if (ch === "}" || ch === "]") objects.pop();
  }
  return duplicates;
}

/** The lines of `output` that are not a JSON object with unique keys, each with the reason. */
export function badLogLines(lines: readonly string[]): { line: string; problem: string }[] {
  const bad: { line: string; problem: string }[] = [];
  for (const line of lines) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      bad.push({ line, problem: "not JSON" });
      continue;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      bad.push({ line, problem: "not an object" });
    else {
      const duplicates = duplicateKeys(line);
      if (duplicates.length > 0) bad.push({ line, problem: `keys twice: ${duplicates.join(", ")}` });
    }
  }
  return bad;
}
