/** Levels of the daemon's stderr lines ("2026-11-24 05:07:13,872 INFO name: message"), so that the log
 * channel shows its INFO as info and its tracebacks under the record they belong to. */

export type ChannelLevel = "debug" | "info" | "warn" | "error";

const RECORD = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;
const LEVELS: Record<string, ChannelLevel> = { DEBUG: "debug", INFO: "info", WARNING: "warn", ERROR: "error", CRITICAL: "error" };

export class StderrLevels {
  private last: ChannelLevel = "info";

  /** Level of a line: its record's level; a continuation line (traceback) keeps the previous one. */
  of(line: string): ChannelLevel {
    const match = RECORD.exec(line);
    if (match) {
      this.last = LEVELS[match[1]];
    } else if (/^Traceback \(most recent call last\)/.test(line)) {
      this.last = "error";
    }
    return this.last;
  }
}
