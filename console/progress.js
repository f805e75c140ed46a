// Progress bars: a native <progress> (no inline style, which the CSP forbids) with the numbers also
// as ARIA attributes and as visible text beside it, so the state never rests on the bar alone.
import { h } from './dom.js';

function words(done, total, noun) {
  const pct = total > 0 ? Math.floor((done * 100) / total) : 0;
  return `${done} of ${total} ${noun}${total === 1 ? '' : 's'} processed (${pct}%)`;
}

/** A labelled progress bar of `done` out of `total`; `setProgress` updates it in place. */
export function progressBar(id, label, done, total, noun = 'device') {
  const bar = h('progress', { id, 'aria-label': label, 'aria-describedby': `${id}-text` });
  const text = h('span', { class: 'progress-text', id: `${id}-text` });
  const wrap = h('div', { class: 'progress' }, bar, text);
  setProgress(wrap, done, total, noun);
  return wrap;
}

export function setProgress(wrap, done, total, noun = 'device') {
  const bar = wrap.querySelector('progress');
  const text = wrap.querySelector('.progress-text');
  const said = words(done, total, noun);
  bar.max = Math.max(total, 1);
  bar.value = Math.min(done, Math.max(total, 1));
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', String(total));
  bar.setAttribute('aria-valuenow', String(done));
  bar.setAttribute('aria-valuetext', said);
  text.textContent = said;
}
