// The session's slides beside the plan: thumbnail, time and title; a click moves the playhead to the slide.
import { mediaUrls } from "./api.js";
import { clock, h } from "./util.js";

const BATCH = 500; // POST /media-urls signs at most this many paths at once

/** Signed URLs for the slides' thumbnails (an <img> sends no key). */
export async function signThumbnails(slides) {
  const paths = slides.map((s) => s.thumbnail_url).filter(Boolean);
  const urls = {};
  for (let i = 0; i < paths.length; i += BATCH) Object.assign(urls, await mediaUrls(paths.slice(i, i + BATCH)));
  return urls;
}

function thumbnail(path, urls) {
  if (!path || !urls[path]) return h("span", { class: "no-thumb", "aria-hidden": "true" });
  const img = h("img", { src: urls[path], alt: "", loading: "lazy", width: 160, height: 90 });
  img.addEventListener("error", async () => {
    // A signed URL ran out before the image was scrolled into view: sign it again, once.
    const fresh = await mediaUrls([path]).catch(() => null);
    if (fresh && fresh[path] !== img.getAttribute("src")) img.src = fresh[path];
  }, { once: true });
  return img;
}

export function slideStrip(slides, urls, onSeek) {
  let active = -1;
  const buttons = slides.map((s, i) => h("button", {
    type: "button", class: "slide", dataset: { index: i, focus: `slide-${i}` }, title: s.title || "Untitled slide",
    "aria-label": `Slide ${i + 1} at ${clock(s.start)}${s.title ? `: ${s.title}` : ""}`,
    onclick: () => onSeek(s.start),
  }, thumbnail(s.thumbnail_url, urls), h("time", {}, clock(s.start)), h("span", { class: "slide-title" }, s.title || "Untitled")));
  const list = h("ol", { class: "slide-list" }, buttons.map((b) => h("li", {}, b)));

  /** Mark the slide on screen at time t (only when it changes) and keep it in view. */
  function follow(t) {
    let lo = 0, hi = slides.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (slides[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found === active) return;
    buttons[active]?.classList.remove("active");
    buttons[active]?.removeAttribute("aria-current");
    active = found;
    const b = buttons[found];
    if (!b) return;
    b.classList.add("active");
    b.setAttribute("aria-current", "true");
    if (!list.matches(":hover")) list.scrollLeft = Math.max(0, b.parentElement.offsetLeft - list.clientWidth / 3);
  }

  const node = h("section", { class: "slides", "aria-labelledby": "slides-title" },
    h("h2", { id: "slides-title" }, `Slides (${slides.length})`),
    h("p", { class: "muted small" }, "A click moves the playhead to the slide; then I or O sets the selected snippet's start or end there."),
    list);
  return { node, follow };
}

/** Tick marks on the timeline where slides change. */
export function slideTicks(slides, duration) {
  return h("div", { class: "slide-ticks", "aria-hidden": "true" },
    slides.map((s) => h("span", { class: "tick", style: { left: `${(s.start / duration) * 100}%` } })));
}
