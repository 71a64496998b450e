// Progress output for long lab operations. On a terminal: one live line with a spinner and a step
// counter ("⠹ [4/9] starting node agents"), redrawn in place; piped: plain "[4/9] ..." lines.
// `info` prints a permanent line either way. Never throws.

export interface Progress {
  /** Announces how many steps follow (for the counter). */
  total(n: number): void;
  step(label: string): void;
  info(line: string): void;
  /** Stops the spinner and clears the live line. */
  end(): void;
}

export const silentProgress: Progress = { total() {}, step() {}, info() {}, end() {} };

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function createProgress(
  stream: NodeJS.WriteStream | NodeJS.WritableStream,
  tty = Boolean((stream as NodeJS.WriteStream).isTTY),
): Progress {
  let total = 0;
  let n = 0;
  let label = '';
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const counter = (): string => (total > 0 ? `[${Math.min(n, total)}/${total}] ` : '');
  const draw = (): void => {
    stream.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} ${counter()}${label}`);
  };
  const clear = (): void => {
    if (tty && label) stream.write('\r\x1b[K');
  };
  return {
    total(count) {
      total = count;
      n = 0;
    },
    step(text) {
      n++;
      label = text;
      if (!tty) {
        stream.write(`${counter()}${text}\n`);
        return;
      }
      draw();
      if (!timer) {
        timer = setInterval(draw, 100);
        timer.unref();
      }
    },
    info(line) {
      clear();
      stream.write(`${line}\n`);
      if (tty && timer && label) draw();
    },
    end() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
      label = '';
    },
  };
}
