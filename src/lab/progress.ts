// Progress output for long lab operations. On a terminal: one live line with a spinner and a step
// counter ("⠹ [4/9] starting node agents"), redrawn in place; when a step reports its items
// (`items(done, of)`: namespaces made, agents ready), a cli-progress bar replaces the spinner for
// that step ("[4/6] starting 10 node agents ████████░░░░ 6/10"). Piped: plain "[4/9] ..." lines,
// items not shown. `info` prints a permanent line either way. Never throws.
import { Presets, SingleBar } from 'cli-progress';

export interface Progress {
  /** Announces how many steps follow (for the counter). */
  total(n: number): void;
  step(label: string): void;
  info(line: string): void;
  /** Stops the spinner and clears the live line. */
  end(): void;
  /** How far the current step is: `done` of `of` items. */
  items?(done: number, of: number): void;
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
  let bar: SingleBar | undefined;
  const stopBar = (): void => {
    bar?.stop(); // clearOnComplete: the bar's line is cleared
    bar = undefined;
  };
  return {
    total(count) {
      total = count;
      n = 0;
    },
    step(text) {
      stopBar();
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
      stopBar();
      clear();
      stream.write(`${line}\n`);
      if (tty && timer && label) draw();
    },
    end() {
      stopBar();
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
      label = '';
    },
    items(done, of) {
      if (!tty || !(of > 0)) return;
      if (!bar) {
        if (timer) clearInterval(timer);
        timer = undefined;
        stream.write('\r\x1b[K');
        bar = new SingleBar(
          {
            stream,
            format: '{prefix} {bar} {value}/{total}',
            barsize: 24,
            hideCursor: false,
            clearOnComplete: true,
            linewrap: false,
          },
          Presets.shades_classic,
        );
        bar.start(of, Math.min(done, of), { prefix: `${counter()}${label}` });
      } else {
        bar.setTotal(of);
        bar.update(Math.min(done, of));
      }
    },
  };
}
