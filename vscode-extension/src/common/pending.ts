/** Pending changes in the editor: where the text a staged patch leaves (computed by the daemon, the same
 * patcher Accept uses: `experience/previewPatch`) differs from the entry, line by line, and short labels.
 * Nothing here applies a diff: the client compares two texts the daemon gave it. */

export interface AddedLines {
  /** Added after this 0-based line of the current text (-1: before the first line). */
  afterLine: number;
  lines: string[];
}

export interface PendingMarks {
  /** 0-based lines of the current text that the change removes. */
  removed: number[];
  added: AddedLines[];
}

function splitLines(text: string): string[] {
  if (text === "") {
    return [];
  }
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") {
    lines.pop();
  }
  return lines;
}

/** Lines removed from `before` and added to it to make `after` (a longest-common-subsequence line diff). */
export function pendingMarks(before: string, after: string): PendingMarks {
  const a = splitLines(before);
  const b = splitLines(after);
  // kept[i][j]: length of the longest common subsequence of a[i..] and b[j..]
  const kept: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      kept[i][j] = a[i] === b[j] ? kept[i + 1][j + 1] + 1 : Math.max(kept[i + 1][j], kept[i][j + 1]);
    }
  }
  const removed: number[] = [];
  const added: AddedLines[] = [];
  const add = (afterLine: number, line: string) => {
    const last = added[added.length - 1];
    if (last && last.afterLine === afterLine) {
      last.lines.push(line);
    } else {
      added.push({ afterLine, lines: [line] });
    }
  };
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || kept[i][j + 1] > kept[i + 1][j])) {
      add(i - 1, b[j++]);
    } else {
      removed.push(i++);
    }
  }
  return { removed, added };
}

/** Lines added and removed by a unified diff (its '+' and '-' lines; file headers are not counted). */
export function diffStats(diff: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  let inHunk = false;
  for (const line of diff.split("\n")) {
    if (line.startsWith("@@")) {
      inHunk = true;
    } else if (inHunk && line.startsWith("+")) {
      added++;
    } else if (inHunk && line.startsWith("-")) {
      removed++;
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
