// The wrapper every lab command's action goes through (defined in lab-commands.ts): it turns a
// thrown error into one `flannelette: ...` line and an exit code, and a returned number into the
// exit code. Only the type lives here, so the lab's command files can share it without a cycle.
export type LabAction = <A extends unknown[]>(
  fn: (...args: A) => Promise<number | void>,
) => (...args: A) => Promise<void>;
