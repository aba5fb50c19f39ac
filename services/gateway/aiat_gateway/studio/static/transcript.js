// The transcript as a virtual list: only the rows in view exist in the DOM (a 3 h lecture has thousands).
import { clock, h } from "./util.js";

const ROW = 44; // px, fixed: two lines at most, the rest in the title

export function transcriptList(segments, onSeek) {
  let shown = segments.map((_, i) => i); // indices of the segments that match the search
  let active = -1;
  const spacer = h("div", { class: "spacer" });
  const rows = h("ol", { class: "rows", role: "list" });
  const viewport = h("div", { class: "transcript-viewport", tabindex: 0, "aria-label": "Transcript lines" }, spacer, rows);
  const count = h("span", { class: "muted", "aria-live": "polite" });
  const search = h("input", { id: "transcript-search", type: "search", placeholder: "Find in transcript" });

  function render() {
    spacer.style.height = `${shown.length * ROW}px`;
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 5);
    const last = Math.min(shown.length, Math.ceil((viewport.scrollTop + (viewport.clientHeight || 400)) / ROW) + 5);
    const items = [];
    for (let k = first; k < last; k++) {
      const i = shown[k];
      const seg = segments[i];
      items.push(h("li", { style: { top: `${k * ROW}px`, height: `${ROW}px` } },
        h("button", {
          type: "button", class: i === active ? "line active" : "line", title: seg.text.trim(),
          dataset: { index: i }, onclick: () => onSeek(seg.start),
        }, h("time", {}, clock(seg.start)), " ", seg.text.trim())));
    }
    rows.replaceChildren(...items);
  }

  viewport.addEventListener("scroll", () => requestAnimationFrame(render), { passive: true });
  search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    shown = q ? segments.flatMap((s, i) => (s.text.toLowerCase().includes(q) ? [i] : [])) : segments.map((_, i) => i);
    count.textContent = q ? `${shown.length} lines match` : "";
    viewport.scrollTop = 0;
    render();
  });

  /** Highlight the line at time t and keep it in view (only when it changes). */
  function follow(t) {
    let lo = 0, hi = segments.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segments[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found === active) return;
    active = found;
    const k = shown.indexOf(found);
    if (k >= 0 && !viewport.matches(":hover") && (k * ROW < viewport.scrollTop || (k + 1) * ROW > viewport.scrollTop + viewport.clientHeight)) {
      viewport.scrollTop = Math.max(0, k * ROW - viewport.clientHeight / 3);
    }
    render();
  }

  const node = h("div", { class: "transcript" },
    h("div", { class: "toolbar" }, h("label", { for: "transcript-search" }, "Search"), search, count),
    viewport);
  requestAnimationFrame(render);
  return { node, follow, render };
}
