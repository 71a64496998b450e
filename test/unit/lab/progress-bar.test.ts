// Progress of a step's items: on a terminal a cli-progress bar for the step ("[2/3] starting 4 node
// agents ████░░ 2/4"), cleared when the next step starts; piped, nothing but the lab's own lines.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../src/lab/progress.js';

function terminal(): { stream: PassThrough; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
  let out = '';
  stream.on('data', (c) => (out += String(c)));
  return { stream, text: () => out };
}

describe('progress items', () => {
  it('terminal: a bar with the step counter, the label and done/total, cleared by the next step', () => {
    const t = terminal();
    const p = createProgress(t.stream, true);
    p.total(3);
    p.step('creating 4 network namespaces');
    p.items!(1, 4);
    p.items!(4, 4);
    p.step('starting 4 node agents');
    p.end();
    const out = t.text();
    expect(out).toContain('[1/3] creating 4 network namespaces ██████░░░░░░░░░░░░░░░░░░ 1/4');
    expect(out).toContain('[1/3] creating 4 network namespaces ████████████████████████ 4/4');
    expect(out).toMatch(/\[2\/3\] starting 4 node agents/);
    expect(out.endsWith('\r\x1b[K')).toBe(true); // the live line is cleared at the end
  });

  it('piped: items print nothing, the step lines stay as they were', () => {
    const s = new PassThrough();
    let out = '';
    s.on('data', (c) => (out += String(c)));
    const p = createProgress(s, false);
    p.total(1);
    p.step('creating 10 network namespaces');
    for (let i = 1; i <= 10; i++) p.items!(i, 10);
    p.end();
    expect(out).toBe('[1/1] creating 10 network namespaces\n');
  });
});
