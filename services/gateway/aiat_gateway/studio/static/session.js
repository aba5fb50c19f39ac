// One session: the video, the transcript, the plan as a timeline to correct, rendering and export.
import { api, download, hasOperation, mediaUrls } from "./api.js";
import * as P from "./plan.js";
import { statusCell } from "./sessions.js";
import { signThumbnails, slideStrip, slideTicks } from "./slides.js";
import { transcriptList } from "./transcript.js";
import { clock, h, toast } from "./util.js";

const FRAME = 1 / 25;
const SETTLED = new Set(["Finished", "Failed"]);

export function sessionView(id) {
  const node = h("section", { class: "session", "aria-busy": "true" }, h("p", {}, "Loading…"));
  const cleanups = [];
  load(id, node, cleanups).catch((err) => {
    if (err.status !== 401) node.replaceChildren(h("p", { class: "error", role: "alert" }, err.detail || String(err)));
  });
  return { node, close: () => cleanups.forEach((c) => c()) };
}

async function load(id, node, cleanups) {
  let session = await api(`/api/v1/sessions/${id}/results`);
  if (!SETTLED.has(session.job_status) || !session.media_duration) {
    // Not ready: follow the status, then open the editor.
    const status = h("div", {}, statusCell(session));
    node.replaceChildren(h("h1", {}, session.name), h("p", {}, "This session is not ready to edit yet."), status,
      session.error_message ? h("p", { class: "error" }, session.error_message) : null, h("a", { href: "#/" }, "Back to sessions"));
    node.setAttribute("aria-busy", "false");
    const timer = setInterval(async () => {
      const s = await api(`/api/v1/sessions/${id}/results`).catch(() => null);
      if (!s) return;
      status.replaceChildren(statusCell(s));
      if (SETTLED.has(s.job_status) && s.media_duration) { clearInterval(timer); load(id, node, cleanups); }
    }, 1000);
    cleanups.push(() => clearInterval(timer));
    return;
  }
  const [transcript, urls, hasLayout, slides] = await Promise.all([
    api(`/api/v1/sessions/${id}/transcript`).catch(() => ({ segments: [] })),
    mediaUrls([`/api/v1/sessions/${id}/media`]),
    hasOperation("/api/v1/snippets/{snippet_id}/process", "post"),
    session.slide_count ? api(`/api/v1/sessions/${id}/slides`).catch(() => []) : [],
  ]);
  const thumbs = await signThumbnails(slides).catch(() => ({}));
  const segments = transcript.segments || [];
  const bounds = P.sentenceBounds(segments);
  const duration = session.media_duration;

  // ---- state -------------------------------------------------------------------------------------
  let saved = P.fromServer(session.snippets);
  let plan = saved;
  let selected = plan.length ? 0 : -1;
  let version = session.plan_version;

  // ---- video -------------------------------------------------------------------------------------
  const mediaPath = `/api/v1/sessions/${id}/media`;
  const video = h("video", { id: "lecture", controls: true, preload: "metadata", src: urls[mediaPath], "aria-label": `Lecture video: ${session.name}` });
  video.addEventListener("error", async () => {
    // A signed URL ran out: ask for a new one and carry on where we were.
    const at = video.currentTime;
    const fresh = await mediaUrls([mediaPath]).catch(() => null);
    if (fresh && fresh[mediaPath] !== video.getAttribute("src")) {
      video.src = fresh[mediaPath];
      video.currentTime = at;
    }
  });
  const seek = (t) => { video.currentTime = Math.max(0, Math.min(duration, t)); };
  // A pause (K, J, Space) right after a play rejects the play's promise: that is no error.
  const play = () => video.play().catch((err) => { if (err.name !== "AbortError") toast(err.message, "error"); });
  const time = h("output", { class: "clock", "aria-label": "Playhead" }, clock(0, true));

  // ---- header: name, unsaved changes, save -------------------------------------------------------
  const dirtyNote = h("span", { class: "dirty", "aria-live": "polite" });
  const conflict = h("div", { class: "conflict", role: "alert", hidden: true });
  const saveButton = h("button", { type: "button", id: "save", class: "primary", onclick: save }, "Save plan");
  const discardButton = h("button", { type: "button", onclick: () => { if (confirm("Discard your changes?")) { plan = saved; update(); } } }, "Discard changes");

  // ---- timeline ----------------------------------------------------------------------------------
  const blocks = h("div", { class: "blocks" });
  const playhead = h("div", { class: "playhead", "aria-hidden": "true" });
  const timeline = h("div", { class: "timeline", role: "group", "aria-label": "Plan timeline (drag a snippet's edges; hold Alt to move freely)" }, slideTicks(slides, duration), blocks, playhead);
  timeline.addEventListener("pointerdown", (e) => {
    if (e.target.closest(".edge, .block")) return;
    const r = timeline.getBoundingClientRect();
    seek(((e.clientX - r.left) / r.width) * duration);
  });

  function drawTimeline() {
    blocks.replaceChildren(...plan.map((s, i) => {
      const block = h("div", {
        class: `block${i === selected ? " selected" : ""}`,
        style: { left: `${(s.start / duration) * 100}%`, width: `${((s.end - s.start) / duration) * 100}%` },
        title: `${s.name} ${clock(s.start)}–${clock(s.end)}`,
        dataset: { index: i },
        onclick: () => select(i, true),
      },
      edge(i, "start"), h("span", { class: "label" }, s.name), edge(i, "end"));
      return block;
    }));
  }

  function edge(i, which) {
    const s = plan[i];
    const handle = h("button", {
      type: "button", class: `edge ${which}`, dataset: { index: i, edge: which, focus: `edge-${i}-${which}` },
      "aria-label": `${which === "start" ? "Start" : "End"} of ${s.name}: ${clock(s[which], true)}`,
    });
    handle.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      e.stopPropagation();
      handle.setPointerCapture(e.pointerId);
      selected = i; // drawn on release: redrawing now would replace the handle holding the pointer
      const r = timeline.getBoundingClientRect();
      const move = (ev) => {
        const raw = ((ev.clientX - r.left) / r.width) * duration;
        const t = ev.altKey ? raw : P.snap(raw, bounds);
        plan = P.moveEdge(plan, i, which, t, duration);
        const block = blocks.children[i];
        block.style.left = `${(plan[i].start / duration) * 100}%`;
        block.style.width = `${((plan[i].end - plan[i].start) / duration) * 100}%`;
        seek(plan[i][which]);
      };
      const up = () => {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", up);
        handle.removeEventListener("pointercancel", up);
        update();
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
      handle.addEventListener("pointercancel", up);
    });
    return handle;
  }

  // ---- snippet list and editor -------------------------------------------------------------------
  const list = h("ol", { class: "snippet-list", "aria-label": "Snippets" });
  const editor = h("div", { class: "editor card", "aria-label": "Selected snippet" });

  function drawList() {
    list.replaceChildren(...plan.map((s, i) => h("li", { class: i === selected ? "selected" : "" },
      h("button", { type: "button", class: "pick", dataset: { focus: `pick-${i}` }, "aria-current": i === selected ? "true" : null, onclick: () => select(i, true) },
        h("strong", {}, s.name), " ",
        h("span", { class: "muted" }, `${clock(s.start)}–${clock(s.end)}`),
        s.score !== null && s.score !== undefined ? h("span", { class: "score", title: "Analyzer score" }, ` ${Math.round(s.score * 100) / 100}`) : null))));
  }

  function drawEditor() {
    const s = plan[selected];
    if (!s) { editor.replaceChildren(h("p", { class: "muted" }, "No snippet selected. Add one at the playhead.")); return; }
    const name = h("input", { id: "snippet-name", value: s.name, maxlength: 300,
      oninput: () => { plan = plan.map((x, k) => (k === selected ? { ...x, name: name.value } : x)); refreshDirty(); drawListSoon(); } });
    const summary = h("textarea", { id: "snippet-summary", rows: 3, maxlength: 5000,
      oninput: () => { plan = plan.map((x, k) => (k === selected ? { ...x, summary: summary.value } : x)); refreshDirty(); } }, s.summary);
    editor.replaceChildren(
      h("h2", {}, `Snippet ${selected + 1} of ${plan.length}`),
      h("p", { class: "times" }, `${clock(s.start, true)} → ${clock(s.end, true)} (${Math.round(s.end - s.start)} s)`),
      h("label", { for: "snippet-name" }, "Name"), name,
      h("label", { for: "snippet-summary" }, "Summary"), summary,
      h("p", { class: "why" }, h("strong", {}, "Score: "), s.score === null || s.score === undefined ? "—" : String(Math.round(s.score * 100) / 100),
        h("br"), h("strong", {}, "Why: "), s.reason || "—"),
      h("div", { class: "buttons" },
        h("button", { type: "button", onclick: () => seek(s.start) }, "Play from start"),
        h("button", { type: "button", id: "set-in", onclick: () => setEdge("start") }, "Set in (I)"),
        h("button", { type: "button", id: "set-out", onclick: () => setEdge("end") }, "Set out (O)"),
        h("button", { type: "button", id: "split", onclick: splitHere }, "Split at playhead"),
        h("button", { type: "button", id: "merge", disabled: selected >= plan.length - 1, onclick: mergeNext }, "Merge with next"),
        h("button", { type: "button", id: "delete", class: "danger", onclick: () => { plan = P.remove(plan, selected); selected = Math.min(selected, plan.length - 1); update(); } }, "Delete")));
  }

  let listTimer = 0;
  const drawListSoon = () => { clearTimeout(listTimer); listTimer = setTimeout(() => keepFocus(() => { drawList(); drawTimeline(); }), 200); };

  // A redraw replaces the focused button: focus its replacement, so the keyboard does not fall back to the page.
  function keepFocus(draw) {
    const el = document.activeElement;
    const key = el && el !== document.body && node.contains(el) ? el.dataset.focus || el.id : "";
    draw();
    if (key && !node.contains(el)) {
      const again = [...node.querySelectorAll("[data-focus], [id]")].find((x) => (x.dataset.focus || x.id) === key);
      again?.focus({ preventScroll: true });
    }
  }

  function select(i, jump) {
    selected = i;
    keepFocus(() => {
      drawList();
      drawTimeline();
      drawEditor();
    });
    drawRender();
    if (jump && plan[i]) seek(plan[i].start);
  }

  function setEdge(which) {
    if (!plan[selected]) return;
    plan = P.moveEdge(plan, selected, which, video.currentTime, duration);
    update();
  }

  function splitHere() {
    const out = P.split(plan, selected, video.currentTime);
    if (!out) { toast("Move the playhead inside the selected snippet to split it", "error"); return; }
    plan = out;
    update();
  }

  function mergeNext() {
    const out = P.merge(plan, selected);
    if (out) { plan = out; update(); }
  }

  function addHere() {
    const out = P.add(plan, video.currentTime, duration);
    if (!out) { toast("No room for a snippet at the playhead", "error"); return; }
    plan = out.plan;
    selected = out.index;
    update();
  }

  function refreshDirty() {
    const dirty = !P.same(plan, saved);
    dirtyNote.textContent = dirty ? "Unsaved changes" : "All changes saved";
    dirtyNote.classList.toggle("on", dirty);
    saveButton.disabled = !dirty;
    discardButton.hidden = !dirty;
    node.dataset.dirty = String(dirty);
    drawRender();
  }

  function update() {
    if (selected >= plan.length) selected = plan.length - 1;
    keepFocus(() => {
      drawTimeline();
      drawList();
      drawEditor();
    });
    refreshDirty();
  }

  async function save() {
    saveButton.disabled = true;
    try {
      const body = { snippets: P.toServer(plan) };
      if (Number.isInteger(version)) body.base_version = version;
      const out = await api(`/api/v1/sessions/${id}/plan`, { method: "PATCH", body });
      session = out;
      version = out.plan_version;
      saved = P.fromServer(out.snippets);
      plan = saved;
      conflict.hidden = true;
      tasks.clear();
      toast("Plan saved");
      update();
    } catch (err) {
      if (err.status === 409) {
        // Keep the edits: show why, and let the person choose.
        conflict.replaceChildren(h("p", {}, h("strong", {}, "Not saved: "), err.detail),
          h("p", {}, "Your changes are still here. "),
          h("button", { type: "button", onclick: reloadSaved }, "Load the saved plan (discard mine)"),
          h("button", { type: "button", onclick: overwrite }, "Save mine over it"),
          h("button", { type: "button", onclick: () => { conflict.hidden = true; refreshDirty(); } }, "Keep editing"));
        conflict.hidden = false;
      } else {
        toast(err.detail, "error");
      }
      refreshDirty();
    }
  }

  async function overwrite() {
    // The person chose to replace what is saved now: base the edit on the current version.
    const out = await api(`/api/v1/sessions/${id}/results`).catch((err) => { toast(err.detail, "error"); return null; });
    if (!out) return;
    version = out.plan_version;
    await save();
  }

  async function reloadSaved() {
    const out = await api(`/api/v1/sessions/${id}/results`);
    session = out;
    version = out.plan_version;
    saved = P.fromServer(out.snippets);
    plan = saved;
    conflict.hidden = true;
    update();
  }

  // ---- render panel ------------------------------------------------------------------------------
  const tasks = new Map(); // snippet id -> {task_id, status, progress, error}
  const aspect = h("select", { id: "render-aspect" }, ["landscape", "vertical", "square"].map((a) => h("option", { value: a }, a[0].toUpperCase() + a.slice(1))));
  const captions = h("input", { id: "render-captions", type: "checkbox", checked: true });
  const intro = h("input", { id: "render-intro", type: "checkbox" });
  const layout = h("select", { id: "render-layout" }, ["auto", "crop", "fit", "stack"].map((a) => h("option", { value: a }, a)));
  const renderOut = h("div", { class: "render-out", "aria-live": "polite" });
  // The slide and speaker regions (source pixels) a render used, shown and corrected for the next one.
  const regions = { slide: regionInputs("slide"), speaker: regionInputs("speaker") };
  const useRegions = h("input", { id: "render-regions", type: "checkbox" });
  const framingNote = h("p", { id: "framing", class: "muted" });
  let framingShown = "";
  const renderNote = h("p", { class: "muted" });
  const renderOne = h("button", { type: "button", id: "render-one", onclick: () => render([plan[selected]]) }, "Render selected");
  const renderAll = h("button", { type: "button", id: "render-all", onclick: () => render(plan) }, "Render all");

  async function render(which) {
    const options = { aspect: aspect.value, captions: captions.checked, intro: intro.checked };
    if (hasLayout) options.layout = layout.value;
    if (useRegions.checked) {
      for (const [name, r] of Object.entries(regions)) {
        const value = r.get();
        if (value) options[name] = value;
      }
    }
    for (const s of which) {
      if (!s?.id) continue;
      try {
        const out = await api(`/api/v1/snippets/${s.id}/process`, { method: "POST", body: options });
        tasks.set(s.id, { task_id: out.task_id, status: "PENDING", progress: 0 });
      } catch (err) {
        tasks.set(s.id, { status: "FAILURE", error: err.detail });
      }
    }
    drawRender();
    poll();
  }

  let pollTimer = 0;
  async function poll() {
    clearTimeout(pollTimer);
    const open = [...tasks.entries()].filter(([, t]) => t.task_id && (t.status === "PENDING" || t.status === "STARTED"));
    for (const [sid, t] of open) {
      try {
        const out = await api(`/api/v1/snippets/tasks/${t.task_id}`);
        Object.assign(t, { status: out.status, progress: out.progress, error: out.error });
        if (out.status === "SUCCESS") {
          const snippet = await api(`/api/v1/snippets/${sid}`);
          const k = plan.findIndex((p) => p.id === sid);
          const j = saved.findIndex((p) => p.id === sid);
          const done = { storage_link: snippet.storage_link, framing: snippet.framing };
          if (k >= 0) plan[k] = { ...plan[k], ...done };
          if (j >= 0) saved[j] = { ...saved[j], ...done };
        }
      } catch (err) {
        if (err.status === 401) return;
      }
    }
    drawRender();
    if (open.length) pollTimer = setTimeout(poll, 1000);
  }
  cleanups.push(() => clearTimeout(pollTimer));

  let drawn = "";
  async function drawRender() {
    const dirty = !P.same(plan, saved);
    renderOne.disabled = dirty || !plan[selected]?.id;
    renderAll.disabled = dirty || !plan.length;
    renderNote.textContent = dirty ? "Save the plan before rendering." : "";
    const s = plan[selected];
    showFraming(s);
    const t = s?.id ? tasks.get(s.id) : null;
    const key = JSON.stringify([s?.id, s?.storage_link, t, [...tasks.values()].map((x) => x.status)]);
    if (key === drawn) return;
    drawn = key;
    const items = [];
    if (tasks.size) {
      items.push(h("ul", { class: "tasks" }, [...tasks.entries()].map(([sid, task]) => {
        const name = plan.find((p) => p.id === sid)?.name || `snippet ${sid}`;
        const pct = Math.round((task.progress || 0) * 100);
        return h("li", { dataset: { snippet: sid, status: task.status } }, `${name}: ${task.status}`,
          task.status === "STARTED" || task.status === "PENDING" ? h("progress", { max: 100, value: pct, "aria-label": `Rendering ${name}` }) : null,
          task.error ? h("span", { class: "error" }, ` ${task.error}`) : null);
      })));
    }
    if (s?.id && s.storage_link && !dirty) {
      const mp4 = `/api/v1/snippets/${s.id}/download`;
      const srt = `/output/${id}/snippets/${s.storage_link.replace(/\.mp4$/, ".srt")}`;
      const urls = await mediaUrls([mp4, srt]).catch(() => null);
      if (urls) {
        items.push(h("video", { id: "result", controls: true, preload: "metadata", src: urls[mp4], "aria-label": `Rendered ${s.name}` }),
          h("p", { class: "buttons" },
            h("a", { class: "button", id: "download-mp4", href: urls[mp4], download: s.storage_link }, "Download mp4"),
            h("a", { class: "button", id: "download-srt", href: urls[srt], download: s.storage_link.replace(/\.mp4$/, ".srt") }, "Download SRT")));
      }
    }
    renderOut.replaceChildren(...items);
  }

  function showFraming(s) {
    // Refill the numbers only when another snippet or render is shown: never over the person's edits.
    const key = JSON.stringify([s?.id, s?.framing]);
    if (key === framingShown) return;
    framingShown = key;
    const f = s?.framing;
    const text = (r) => (r ? `${r.x}, ${r.y}, ${r.w}×${r.h}` : "none");
    framingNote.textContent = f ? `Rendered as ${f.layout} · slide ${text(f.slide)} · speaker ${text(f.speaker)}` : "";
    regions.slide.set(f?.slide);
    regions.speaker.set(f?.speaker);
  }

  // ---- transcript and export ---------------------------------------------------------------------
  const tx = transcriptList(segments, seek);
  const strip = slides.length ? slideStrip(slides, thumbs, seek) : null;
  const exportButtons = ["srt", "vtt", "txt"].map((f) => h("button", {
    type: "button", id: `export-${f}`,
    onclick: () => download(`/api/v1/sessions/${id}/transcript?format=${f}`, `${session.name}.${f}`).catch((err) => toast(err.detail, "error")),
  }, f.toUpperCase()));

  // ---- playhead, keyboard --------------------------------------------------------------------------
  const onTime = () => {
    playhead.style.left = `${(video.currentTime / duration) * 100}%`;
    time.textContent = clock(video.currentTime, true);
    tx.follow(video.currentTime);
    strip?.follow(video.currentTime);
  };
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("seeked", onTime);

  const onKey = (e) => {
    if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey) return;
    const key = e.key.toLowerCase();
    const act = {
      " ": () => (video.paused ? play() : video.pause()),
      k: () => video.pause(),
      l: () => { video.playbackRate = video.paused ? 1 : Math.min(4, video.playbackRate * 2); play(); },
      j: () => { video.pause(); seek(video.currentTime - 5); },
      i: () => setEdge("start"),
      o: () => setEdge("end"),
      arrowleft: () => seek(e.shiftKey ? P.step(video.currentTime, bounds, -1) : video.currentTime - FRAME),
      arrowright: () => seek(e.shiftKey ? P.step(video.currentTime, bounds, 1) : video.currentTime + FRAME),
    }[key];
    if (!act || (key === " " && e.target.closest("button, a, video"))) return;
    e.preventDefault();
    act();
  };
  document.addEventListener("keydown", onKey);
  cleanups.push(() => document.removeEventListener("keydown", onKey));
  const beforeUnload = (e) => { if (!P.same(plan, saved)) e.preventDefault(); };
  window.addEventListener("beforeunload", beforeUnload);
  cleanups.push(() => window.removeEventListener("beforeunload", beforeUnload));

  // ---- layout ------------------------------------------------------------------------------------
  node.setAttribute("aria-busy", "false");
  node.replaceChildren(
    h("header", { class: "session-head" },
      h("div", {}, h("a", { href: "#/" }, "← Sessions"), h("h1", {}, session.name), h("p", { class: "muted" }, [session.module, session.language, clock(duration)].filter(Boolean).join(" · "))),
      h("div", { class: "save-bar" }, dirtyNote, discardButton, saveButton)),
    conflict,
    h("div", { class: "columns" },
      h("div", { class: "col-main" },
        video,
        h("div", { class: "transport" }, time,
          h("button", { type: "button", id: "add", onclick: addHere }, "Add snippet at playhead"),
          h("span", { class: "muted keys" }, "Space play · J/K/L · I/O set in/out · ←/→ frame · Shift+←/→ sentence · Alt while dragging: no snapping")),
        timeline,
        strip?.node,
        h("div", { class: "plan-grid" }, h("div", {}, h("h2", {}, "Plan"), list), editor),
        h("section", { class: "card render", "aria-labelledby": "render-title" },
          h("h2", { id: "render-title" }, "Render"),
          h("div", { class: "fields inline" },
            h("label", { for: "render-aspect" }, "Format"), aspect,
            h("label", { for: "render-layout" }, "Layout"), layout,
            h("span", {}, captions, h("label", { for: "render-captions" }, " Captions")),
            h("span", {}, intro, h("label", { for: "render-intro" }, " Intro"))),
          framingNote,
          h("div", { class: "fields inline regions" },
            h("span", {}, useRegions, h("label", { for: "render-regions" }, " Correct regions (source pixels x, y, w, h):")),
            regions.slide.node, regions.speaker.node),
          h("p", { class: "buttons" }, renderOne, renderAll), renderNote, renderOut)),
      h("aside", { class: "col-side", "aria-labelledby": "transcript-title" },
        h("h2", { id: "transcript-title" }, "Transcript"),
        tx.node,
        h("p", { class: "buttons" }, h("span", {}, "Export: "), ...exportButtons))));
  update();
  onTime();
  tx.render();
  // Snippets rendered earlier (storage_link) show their result at once.
}

/** Four whole-number inputs for one region; get() is {x, y, w, h}, or null while any is empty. */
function regionInputs(name) {
  const label = { slide: "Slide", speaker: "Speaker" }[name];
  const inputs = ["x", "y", "w", "h"].map((k) => h("input", {
    id: `region-${name}-${k}`, type: "number", min: k === "w" || k === "h" ? 1 : 0, step: 1, class: "region",
    "aria-label": `${label} ${k}`,
  }));
  return {
    node: h("span", { role: "group", "aria-label": `${label} region` }, `${label} `, ...inputs),
    get: () => (inputs.some((i) => i.value === "") ? null
      : Object.fromEntries(inputs.map((i, n) => ["xywh"[n], Number(i.value)]))),
    set: (r) => inputs.forEach((i, n) => { i.value = r ? String(r["xywh"[n]]) : ""; }),
  };
}
