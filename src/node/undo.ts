// Undo steps of a node's start-up, run in reverse order by stop() or after a failed start; a
// failing step never stops the rest. Nothing here throws.

/** Runs undo steps in reverse order, never throwing. */
export class UndoStack {
  private steps: Array<() => Promise<void> | void> = [];
  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    while (this.steps.length > 0) {
      try {
        await this.steps.pop()!();
      } catch {
        // best effort: keep undoing the rest
      }
    }
  }
}
