/** Rolling a run back to an earlier step: which steps are valid, and what to tell the user (vscode-free). */
import type { RollbackResult } from "./protocol";

/** Why `text` is not a step a run at step `current` can roll back to (undefined: it is one). */
export function stepProblem(text: string, current: number): string | undefined {
  const value = text.trim();
  if (!/^\d+$/.test(value)) {
    return `a whole number from 0 to ${current}`;
  }
  return Number(value) > current ? `the run is at step ${current}: pick a step from 0 to ${current}` : undefined;
}

/** Whether `step` (given by a caller, not typed) is one a run at step `current` can roll back to. */
export function validStep(step: number, current: number): boolean {
  return Number.isInteger(step) && step >= 0 && step <= current;
}

/** "3, 4 and 5" (steps in the order the daemon gives them). */
function listSteps(steps: readonly number[]): string {
  return steps.length <= 1 ? steps.join("") : `${steps.slice(0, -1).join(", ")} and ${steps[steps.length - 1]}`;
}

/** The detail of the confirmation: what is undone, and that the later steps stay on record. */
export function confirmDetail(toStep: number, current: number): string {
  const restored = `The experience returns byte for byte to what it was after step ${toStep}${toStep === 0 ? " (the empty start)" : ""}; hand edits made since are undone too.`;
  const later =
    toStep + 1 === current
      ? ` Step ${current} is undone but stays on record (its metrics and patches are kept).`
      : toStep < current
        ? ` Steps ${toStep + 1} to ${current} are undone but stay on record (their metrics and patches are kept).`
        : "";
  return restored + later;
}

/** The message after a rollback: where the run is, the steps undone, the entries restored. */
export function rollbackSummary(name: string, result: RollbackResult): string {
  const undone = result.undone.length
    ? `undid step${result.undone.length === 1 ? "" : "s"} ${listSteps(result.undone)} (kept on record)`
    : "no step undone";
  const restored = `${result.restored} entr${result.restored === 1 ? "y" : "ies"} restored`;
  return `Rolled back ${name} to step ${result.step}: ${undone}, ${restored}.`;
}
