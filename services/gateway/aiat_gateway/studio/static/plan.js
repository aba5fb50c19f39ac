// The plan being edited: pure functions over [{key, id, name, summary, start, end, score, reason}].
export const MIN_LENGTH = 1; // seconds: shorter snippets are not worth a video
let nextKey = 1;

export function fromServer(snippets) {
  return snippets
    .map((s) => ({ key: nextKey++, id: s.id, name: s.name, summary: s.summary || "", start: s.start, end: s.end,
      score: s.score, reason: s.reason, storage_link: s.storage_link, framing: s.framing, origin: s.origin }))
    .sort((a, b) => a.start - b.start);
}

export function toServer(plan) {
  return plan.map((s) => ({ name: s.name.trim() || "Untitled", start: round(s.start), end: round(s.end), summary: s.summary }));
}

const round = (t) => Math.round(t * 1000) / 1000;

/** Sorted times a boundary may snap to: sentence starts and ends from the transcript. */
export function sentenceBounds(segments) {
  const times = new Set();
  for (const seg of segments) {
    times.add(round(seg.start));
    times.add(round(seg.end));
    const words = seg.words || [];
    words.forEach((w, i) => {
      if (/[.?!…]["')\]]*$/.test(w.text.trim())) {
        times.add(round(w.end));
        if (words[i + 1]) times.add(round(words[i + 1].start));
      }
    });
  }
  return [...times].sort((a, b) => a - b);
}

/** Index of the first bound >= t (binary search). */
function lowerBound(bounds, t) {
  let lo = 0, hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid] < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export function snap(t, bounds) {
  if (!bounds.length) return t;
  const i = lowerBound(bounds, t);
  const candidates = [bounds[i - 1], bounds[i]].filter((b) => b !== undefined);
  return candidates.reduce((best, b) => (Math.abs(b - t) < Math.abs(best - t) ? b : best));
}

/** The next (dir 1) or previous (dir -1) bound strictly past t. */
export function step(t, bounds, dir) {
  if (dir > 0) return bounds[lowerBound(bounds, t + 1e-3)] ?? t;
  return bounds[lowerBound(bounds, t - 1e-3) - 1] ?? t;
}

/** Move one edge of snippet i to t, kept inside its neighbours and the video. */
export function moveEdge(plan, i, edge, t, duration) {
  const s = plan[i];
  const prevEnd = i > 0 ? plan[i - 1].end : 0;
  const nextStart = i < plan.length - 1 ? plan[i + 1].start : duration;
  const out = plan.slice();
  if (edge === "start") out[i] = { ...s, start: clamp(t, prevEnd, s.end - MIN_LENGTH) };
  else out[i] = { ...s, end: clamp(t, s.start + MIN_LENGTH, nextStart) };
  return out;
}

const clamp = (t, lo, hi) => Math.min(Math.max(t, lo), hi);

export function split(plan, i, t) {
  const s = plan[i];
  if (!(t > s.start + MIN_LENGTH / 2 && t < s.end - MIN_LENGTH / 2)) return null;
  const first = { ...s, key: nextKey++, id: undefined, end: t, name: `${s.name} (1)`, storage_link: null };
  const second = { ...s, key: nextKey++, id: undefined, start: t, name: `${s.name} (2)`, storage_link: null };
  return [...plan.slice(0, i), first, second, ...plan.slice(i + 1)];
}

export function merge(plan, i) {
  if (i < 0 || i >= plan.length - 1) return null;
  const a = plan[i], b = plan[i + 1];
  const summary = [a.summary, b.summary].filter(Boolean).join(" ");
  const merged = { ...a, key: nextKey++, id: undefined, end: b.end, summary, storage_link: null, score: null, reason: "merged by hand" };
  return [...plan.slice(0, i), merged, ...plan.slice(i + 2)];
}

/** A new snippet at t in the gap it falls in (up to 60 s long), or null when there is no room. */
export function add(plan, t, duration) {
  const i = plan.findIndex((s) => s.start > t);
  const at = i === -1 ? plan.length : i;
  const gapStart = at > 0 ? plan[at - 1].end : 0;
  const gapEnd = at < plan.length ? plan[at].start : duration;
  const start = Math.max(t, gapStart);
  const end = Math.min(start + 60, gapEnd);
  if (end - start < MIN_LENGTH) return null;
  const s = { key: nextKey++, name: "New snippet", summary: "", start, end, score: null, reason: "added by hand", storage_link: null };
  return { plan: [...plan.slice(0, at), s, ...plan.slice(at)], index: at };
}

export function remove(plan, i) {
  return [...plan.slice(0, i), ...plan.slice(i + 1)];
}

export function same(a, b) {
  return JSON.stringify(toServer(a)) === JSON.stringify(toServer(b));
}
