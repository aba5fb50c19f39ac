// Entry point: sign-in, hash routes (#/ sessions, #/sessions/<id> one session), one view at a time.
import { api, auth, forgetMediaUrls, needsKey, whenUnauthorized } from "./api.js";
import { h } from "./util.js";
import { sessionsView } from "./sessions.js";
import { sessionView } from "./session.js";

const main = document.getElementById("main");
const signOut = document.getElementById("sign-out");
let current = null; // the view's cleanup (timers, listeners)
let signingIn = false;

function mount(node) {
  current?.();
  current = null;
  main.replaceChildren(node);
}

function signIn(message) {
  const error = h("p", { class: "error", id: "sign-in-error", role: "alert" }, message || "");
  const input = h("input", {
    id: "api-key", name: "api-key", type: "password", autocomplete: "off", required: true,
    "aria-describedby": "sign-in-error",
  });
  const form = h("form", {
    class: "sign-in card",
    "aria-labelledby": "sign-in-title",
    onsubmit: async (event) => {
      event.preventDefault();
      auth.key = input.value.trim();
      signingIn = true;
      try {
        await api("/api/v1/sessions?limit=1");
        route();
      } catch (err) {
        auth.key = "";
        error.textContent = err.status === 401 ? "That key was not accepted. Check it and try again." : err.detail;
        input.focus();
      } finally {
        signingIn = false;
      }
    },
  },
  h("h1", { id: "sign-in-title" }, "Sign in"),
  h("p", {}, "This server needs an API key. It is kept for this tab only."),
  h("label", { for: "api-key" }, "API key"), input, error,
  h("button", { type: "submit" }, "Sign in"));
  mount(form);
  signOut.hidden = true;
  input.focus();
}

whenUnauthorized(() => {
  if (signingIn) return;
  const had = Boolean(auth.key);
  auth.key = "";
  forgetMediaUrls();
  signIn(had ? "That key is no longer accepted. Sign in again." : "");
});

signOut.addEventListener("click", () => { auth.key = ""; forgetMediaUrls(); signIn("Signed out."); });

async function route() {
  if (!auth.key && (await needsKey())) {
    signIn("");
    return;
  }
  try {
    await api("/api/v1/sessions?limit=1");
  } catch (err) {
    if (err.status === 401) return; // the sign-in form is up
    mount(h("p", { class: "error", role: "alert" }, err.detail));
    return;
  }
  signOut.hidden = !auth.key;
  const match = location.hash.match(/^#\/sessions\/(\d+)/);
  const view = match ? sessionView(Number(match[1])) : sessionsView();
  mount(view.node);
  current = view.close;
  document.title = match ? `Session ${match[1]} · AIAT Studio` : "Sessions · AIAT Studio";
}

window.addEventListener("hashchange", route);
route();
