// Sessions: list (sort, page, search, live status), retry a failed one, start one from a Drive link.
import { api, hasOperation, upload } from "./api.js";
import { h, toast, when } from "./util.js";

const PAGE = 20;
const SORTS = { created_at: "Created", name: "Name", module: "Module", job_status: "Status" };
const DRIVE_HOSTS = new Set(["drive.google.com", "docs.google.com", "drive.usercontent.google.com"]);
const DRIVE_ID = /^[A-Za-z0-9_-]{25,200}$/;

/** The file id of a Drive share link, or an error message (the server checks again). */
export function driveLinkProblem(text) {
  let url;
  try { url = new URL(text.trim()); } catch { return "Paste a full link, starting with https://drive.google.com/"; }
  if (url.protocol !== "https:" || !DRIVE_HOSTS.has(url.hostname)) return "This is not a Google Drive link";
  const path = url.pathname.match(/\/file\/(?:u\/\d+\/)?d\/([^/]+)/);
  const id = path ? path[1] : url.searchParams.get("id");
  if (!id || !DRIVE_ID.test(id)) return "The link does not name a Drive file (…/file/d/<id>/view)";
  return "";
}

export function statusCell(s) {
  const status = s.job_status;
  if (status.startsWith("Processing") || status === "Pending") {
    const pct = s.progress === null || s.progress === undefined ? null : Math.round(s.progress * 100);
    return h("span", { class: "status busy" }, status.replace("Processing: ", ""),
      pct === null ? null : h("progress", { max: 100, value: pct, "aria-label": `${status} ${pct}%` }),
      pct === null ? null : ` ${pct}%`);
  }
  return h("span", { class: `status ${status.toLowerCase()}` }, status);
}

export function sessionsView() {
  const state = { skip: 0, sort_by: "created_at", order: "desc", q: "" };
  let timer = 0;
  let closed = false;
  let loading = null;

  const tbody = h("tbody");
  const pager = h("span", { class: "pager-info" });
  const prev = h("button", { type: "button", onclick: () => { state.skip = Math.max(0, state.skip - PAGE); load(); } }, "Previous");
  const next = h("button", { type: "button", onclick: () => { state.skip += PAGE; load(); } }, "Next");
  const search = h("input", {
    id: "session-search", type: "search", placeholder: "Name or module",
    oninput: () => { clearTimeout(search.t); search.t = setTimeout(() => { state.q = search.value.trim(); state.skip = 0; load(); }, 250); },
  });
  const sort = h("select", { id: "session-sort", onchange: () => { state.sort_by = sort.value; load(); } },
    Object.entries(SORTS).map(([v, label]) => h("option", { value: v }, label)));
  const order = h("select", { id: "session-order", onchange: () => { state.order = order.value; load(); } },
    h("option", { value: "desc" }, "Newest / Z first"), h("option", { value: "asc" }, "Oldest / A first"));
  const listError = h("p", { class: "error", role: "alert" });

  async function retry(s, button) {
    button.disabled = true;
    try {
      await api(`/api/v1/sessions/${s.id}/retry`, { method: "POST" });
      toast(`Session “${s.name}” is processing again`);
    } catch (err) {
      toast(err.detail, "error");
    }
    load();
  }

  function row(s) {
    const failed = s.job_status === "Failed";
    return h("tr", { dataset: { id: s.id, status: s.job_status } },
      h("td", {}, h("a", { href: `#/sessions/${s.id}` }, s.name)),
      h("td", {}, s.module || "—"),
      h("td", {}, statusCell(s),
        failed && s.error_message ? h("div", { class: "error small" }, s.error_message) : null,
        failed ? h("button", { type: "button", class: "retry", onclick: (e) => retry(s, e.currentTarget) }, "Retry") : null),
      h("td", {}, String(s.snippet_count ?? 0)),
      h("td", {}, h("time", { datetime: s.created_at }, when(s.created_at))));
  }

  async function load() {
    clearTimeout(timer);
    loading?.abort();
    loading = new AbortController();
    const params = new URLSearchParams({ skip: state.skip, limit: PAGE + 1, sort_by: state.sort_by, order: state.order });
    if (state.q) params.set("q", state.q);
    try {
      const rows = await api(`/api/v1/sessions?${params}`, { signal: loading.signal });
      listError.textContent = "";
      tbody.replaceChildren(...rows.slice(0, PAGE).map(row));
      if (!rows.length) tbody.append(h("tr", {}, h("td", { colspan: 5 }, state.q ? "No session matches." : "No sessions yet.")));
      prev.disabled = state.skip === 0;
      next.disabled = rows.length <= PAGE;
      pager.textContent = rows.length ? `${state.skip + 1}–${state.skip + Math.min(rows.length, PAGE)}` : "";
      const busy = rows.some((s) => s.job_status === "Pending" || s.job_status.startsWith("Processing"));
      if (!closed) timer = setTimeout(load, busy ? 1000 : 5000);
    } catch (err) {
      if (err.name === "AbortError" || err.status === 401) return;
      listError.textContent = err.detail;
      if (!closed) timer = setTimeout(load, 5000);
    }
  }

  const node = h("section", { class: "sessions", "aria-labelledby": "sessions-title" },
    h("h1", { id: "sessions-title" }, "Sessions"),
    uploadForm(load),
    h("div", { class: "toolbar", role: "search" },
      h("label", { for: "session-search" }, "Search"), search,
      h("label", { for: "session-sort" }, "Sort by"), sort,
      h("label", { for: "session-order", class: "sr-only" }, "Order"), order),
    listError,
    h("div", { class: "table-wrap" }, h("table", { class: "sessions-table" },
      h("caption", { class: "sr-only" }, "Sessions"),
      h("thead", {}, h("tr", {}, ["Name", "Module", "Status", "Snippets", "Created"].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, pager, next));
  load();
  return { node, close: () => { closed = true; clearTimeout(timer); loading?.abort(); } };
}

function uploadForm(reload) {
  const name = h("input", { id: "up-name", name: "name", required: true, maxlength: 300 });
  const module = h("input", { id: "up-module", name: "module", maxlength: 300 });
  const link = h("input", { id: "up-link", name: "drive_link", type: "url", required: true, "aria-describedby": "up-error", placeholder: "https://drive.google.com/file/d/…/view" });
  const error = h("p", { id: "up-error", class: "error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Start");
  const form = h("form", {
    class: "card upload", "aria-labelledby": "upload-title", novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (!name.value.trim()) { error.textContent = "Give the session a name"; name.focus(); return; }
      const problem = driveLinkProblem(link.value);
      if (problem) { error.textContent = problem; link.focus(); return; }
      submit.disabled = true;
      try {
        const s = await api("/api/v1/upload-session", {
          method: "POST",
          body: { name: name.value.trim(), module: module.value.trim() || null, drive_link: link.value.trim() },
        });
        toast(`Session “${s.name}” created`);
        form.reset();
        reload();
      } catch (err) {
        error.textContent = err.detail; // the server's message as it is
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h2", { id: "upload-title" }, "New session from a Google Drive link"),
  h("div", { class: "fields" },
    h("label", { for: "up-name" }, "Name"), name,
    h("label", { for: "up-module" }, "Module (optional)"), module,
    h("label", { for: "up-link" }, "Drive link"), link),
  error, submit);
  fileDrop(form, name, module, error, reload);
  return form;
}

/** Drag and drop a video file, or choose one (keyboard): only when the server offers POST /api/v1/upload-file. */
async function fileDrop(form, name, module, error, reload) {
  if (!(await hasOperation("/api/v1/upload-file", "post"))) return;
  const input = h("input", { id: "up-file", type: "file", accept: "video/*,audio/*", "aria-describedby": "up-error" });
  const bar = h("progress", { id: "up-progress", max: 100, value: 0, "aria-label": "Upload progress" });
  const state = h("span", { id: "up-state", role: "status" });
  const progress = h("div", { class: "up-progress", hidden: true }, bar, state);
  const zone = h("div", { class: "drop", "aria-label": "Drop a video file here" },
    h("label", { for: "up-file" }, "…or drop a video file here, or choose one: "), input, progress);
  let busy = false;
  async function send(file) {
    if (busy) return;
    error.textContent = "";
    if (!name.value.trim()) { error.textContent = "Give the session a name first"; name.focus(); return; }
    const body = new FormData();
    body.append("name", name.value.trim());
    if (module.value.trim()) body.append("module", module.value.trim());
    body.append("file", file);
    busy = true;
    input.disabled = true;
    zone.classList.add("busy");
    progress.hidden = false;
    bar.value = 0;
    state.textContent = `Uploading ${file.name}…`;
    const shown = (fraction) => {
      bar.value = Math.round(fraction * 100);
      state.textContent = `Uploading ${file.name}: ${bar.value}%`;
    };
    try {
      const s = await upload("/api/v1/upload-file", body, shown);
      shown(1);
      state.textContent = `Uploaded ${file.name}: session “${s.name}” created`;
      toast(`Session “${s.name}” created from ${file.name}`);
      form.reset();
      reload();
    } catch (err) {
      progress.hidden = true;
      error.textContent = err.detail ?? String(err); // the server's message as it is
    } finally {
      busy = false;
      input.disabled = false;
      zone.classList.remove("busy");
    }
  }
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = ""; // choosing the same file again (after a refusal) is a change too
    if (file) send(file);
  });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const files = e.dataTransfer?.files ?? [];
    if (files.length > 1) { error.textContent = "Drop one file at a time"; return; }
    if (files[0]) send(files[0]);
  });
  form.querySelector(".fields").after(zone);
}
