/** Unified diffs (the symbolic gradients) in the client: parse, apply (forward or reverse, with fuzz),
 * and where their lines land in an entry (decorations, CodeLens). The daemon stays the authority:
 * accepting a patch is its job; this is for showing one. */

export interface HunkLine {
  op: " " | "-" | "+";
  text: string;
  /** "\ No newline at end of file" followed this line. */
  noNewline?: boolean;
}

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: HunkLine[];
}

export interface Placement {
  hunk: Hunk;
  /** 0-based line in the original text where the hunk's first (kept) line applied. */
  at: number;
  /** Context lines dropped at each end to make it apply (0 = exact). */
  fuzz: number;
}

export class PatchError extends Error {}

export const MAX_FUZZ = 3;
const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Parse the hunks of a unified diff (file headers and any text before the first hunk are skipped). */
export function parseUnifiedDiff(diff: string): Hunk[] {
  const hunks: Hunk[] = [];
  let current: Hunk | undefined;
  const lines = diff.split("\n");
  if (lines[lines.length - 1] === "") {
    lines.pop();
  }
  for (const line of lines) {
    const header = HUNK_HEADER.exec(line);
    if (header) {
      current = {
        oldStart: Number(header[1]),
        oldLines: header[2] === undefined ? 1 : Number(header[2]),
        newStart: Number(header[3]),
        newLines: header[4] === undefined ? 1 : Number(header[4]),
        lines: [],
      };
      hunks.push(current);
    } else if (current === undefined) {
      continue;
    } else if (line.startsWith("\\")) {
      const last = current.lines[current.lines.length - 1];
      if (last) {
        last.noNewline = true;
      }
    } else if (line.startsWith("+") || line.startsWith("-") || line.startsWith(" ")) {
      current.lines.push({ op: line[0] as HunkLine["op"], text: line.slice(1) });
    } else if (line === "") {
      current.lines.push({ op: " ", text: "" });
    } else if (!line.startsWith("---") && !line.startsWith("+++")) {
      throw new PatchError(`not a unified diff line: ${JSON.stringify(line)}`);
    }
  }
  return hunks;
}

/** Swap the two sides of the hunks (to undo an applied patch). */
export function reverseHunks(hunks: Hunk[]): Hunk[] {
  const flip = { " ": " ", "-": "+", "+": "-" } as const;
  return hunks.map((h) => ({
    oldStart: h.newStart,
    oldLines: h.newLines,
    newStart: h.oldStart,
    newLines: h.oldLines,
    lines: h.lines.map((l) => ({ ...l, op: flip[l.op] })),
  }));
}

/** Lines of a text and whether it ends with a newline ("" has no lines). */
export function splitLines(text: string): { lines: string[]; eol: boolean } {
  if (text === "") {
    return { lines: [], eol: false };
  }
  const eol = text.endsWith("\n");
  return { lines: (eol ? text.slice(0, -1) : text).split("\n"), eol };
}

function joinLines(lines: string[], eol: boolean): string {
  return lines.length === 0 ? "" : lines.join("\n") + (eol ? "\n" : "");
}

function trimContext(lines: HunkLine[], fuzz: number): { body: HunkLine[]; lead: number } | undefined {
  let lead = 0;
  let tail = 0;
  while (lead < fuzz && lines[lead]?.op === " ") {
    lead++;
  }
  while (tail < fuzz && lines[lines.length - 1 - tail]?.op === " " && lines.length - 1 - tail >= lead) {
    tail++;
  }
  if (lead < fuzz && tail < fuzz && fuzz > 0) {
    return undefined; // nothing more to drop at this fuzz level
  }
  return { body: lines.slice(lead, lines.length - tail), lead };
}

function matchesAt(lines: string[], old: string[], at: number): boolean {
  return at >= 0 && at + old.length <= lines.length && old.every((text, i) => lines[at + i] === text);
}

function findNearest(lines: string[], old: string[], expected: number, from: number): number {
  const limit = lines.length - old.length;
  for (let d = 0; d <= lines.length; d++) {
    for (const at of d === 0 ? [expected] : [expected - d, expected + d]) {
      if (at >= from && at <= limit && matchesAt(lines, old, at)) {
        return at;
      }
    }
  }
  return -1;
}

/** Apply a unified diff to a text; throws PatchError when a hunk finds no place even with fuzz 3. */
export function applyPatch(text: string, diff: string, options: { reverse?: boolean } = {}): { text: string; placements: Placement[] } {
  const parsed = parseUnifiedDiff(diff);
  const hunks = options.reverse ? reverseHunks(parsed) : parsed;
  const { lines, eol: startEol } = splitLines(text);
  let eol = startEol;
  let delta = 0; // lines added minus removed by earlier hunks
  let from = 0; // first line (in the patched text) a hunk may touch
  const placements: Placement[] = [];
  hunks.forEach((hunk, index) => {
    let placed = false;
    for (let fuzz = 0; fuzz <= MAX_FUZZ && !placed; fuzz++) {
      const trimmed = trimContext(hunk.lines, fuzz);
      if (!trimmed) {
        continue;
      }
      const old = trimmed.body.filter((l) => l.op !== "+").map((l) => l.text);
      const replacement = trimmed.body.filter((l) => l.op !== "-");
      const expected = (hunk.oldLines === 0 ? hunk.oldStart : hunk.oldStart - 1) + delta + trimmed.lead;
      const at = old.length === 0 ? Math.min(Math.max(expected, from), lines.length) : findNearest(lines, old, expected, from);
      if (at < 0) {
        continue;
      }
      const reachesEnd = at + old.length === lines.length;
      lines.splice(at, old.length, ...replacement.map((l) => l.text));
      if (reachesEnd && (replacement.length > 0 || old.length > 0)) {
        const lastNew = replacement[replacement.length - 1];
        eol = lastNew ? !lastNew.noNewline : eol;
      }
      placements.push({ hunk: { ...hunk, lines: trimmed.body }, at: at - delta, fuzz });
      delta += replacement.length - old.length;
      from = at + replacement.length;
      placed = true;
    }
    if (!placed) {
      throw new PatchError(`hunk ${index + 1} (@@ -${hunk.oldStart},${hunk.oldLines}) does not apply, even with fuzz ${MAX_FUZZ}`);
    }
  });
  return { text: joinLines(lines, eol), placements };
}

export interface AddedLines {
  /** Added after this 0-based line of the current text (-1: before the first line). */
  afterLine: number;
  lines: string[];
}

export interface PendingMarks {
  removed: number[];
  added: AddedLines[];
}

/** Where a staged patch would remove lines from (and add lines to) the current text. */
export function pendingMarks(text: string, diff: string): PendingMarks {
  const { placements } = applyPatch(text, diff);
  const removed: number[] = [];
  const added: AddedLines[] = [];
  for (const { hunk, at } of placements) {
    let line = at;
    for (const l of hunk.lines) {
      if (l.op === "+") {
        const last = added[added.length - 1];
        if (last && last.afterLine === line - 1) {
          last.lines.push(l.text);
        } else {
          added.push({ afterLine: line - 1, lines: [l.text] });
        }
      } else {
        if (l.op === "-") {
          removed.push(line);
        }
        line++;
      }
    }
  }
  return { removed, added };
}

/** Lines added and removed by a diff. */
export function diffStats(diff: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const hunk of parseUnifiedDiff(diff)) {
    for (const l of hunk.lines) {
      added += l.op === "+" ? 1 : 0;
      removed += l.op === "-" ? 1 : 0;
    }
  }
  return { added, removed };
}

/** Title of the CodeLens that counts an entry's pending changes. */
export function pendingTitle(count: number): string {
  return `${count} pending change${count === 1 ? "" : "s"}`;
}

/** Short text for added lines shown after a line (joined with ⏎, cut to `max` characters). */
export function addedPreview(lines: string[], max = 80): string {
  const joined = lines.join(" ⏎ ");
  return `+ ${joined.length > max ? `${joined.slice(0, max - 1)}…` : joined}`;
}
