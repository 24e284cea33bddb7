// Small DOM helpers: elements are built with h(), never from HTML strings, so
// names and message data can never run as markup.

/** An element with attributes (on* keys become listeners) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: headers as strings ("#name" right-aligns), rows as arrays of cells. */
export function table(headers, rows, empty = "nothing yet") {
  const head = h("tr", {}, headers.map((t) =>
    t.startsWith("#") ? h("th", { class: "num" }, t.slice(1)) : h("th", {}, t)));
  const body = rows.length
    ? rows.map((cells) => h("tr", {}, cells.map((c) =>
      c instanceof Node && c.tagName === "TD" ? c : h("td", typeof c === "number" ? { class: "num" } : {}, c))))
    : [h("tr", {}, h("td", { class: "empty", colspan: headers.length }, empty))];
  return h("table", {}, h("thead", {}, head), h("tbody", {}, body));
}

/** A labelled form field. */
export function field(label, input) {
  return h("label", {}, label, input);
}

/** "12 s", "3 min", "2.5 h" for an age in seconds; "–" when there is none. */
export function age(seconds) {
  if (seconds === undefined || seconds === null) return "–";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Seconds since an RFC 3339 time. */
export function since(time) {
  return time ? Math.max(0, (Date.now() - Date.parse(time)) / 1000) : undefined;
}

/** Bytes as B / KiB / MiB. */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** UTF-8 text as standard base64, as the API carries message data. */
export function toBase64(text) {
  const raw = new TextEncoder().encode(text);
  let binary = "";
  for (const b of raw) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Standard base64 as bytes. */
export function fromBase64(b64) {
  const binary = atob(b64 || "");
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Message data shown as text, pretty JSON or hex. */
export function preview(b64, view = "text", limit = 2048) {
  const raw = fromBase64(b64).slice(0, limit);
  if (view === "hex") {
    return Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join(" ");
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(raw);
  if (view === "json") {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return `(not JSON) ${text}`; }
  }
  return text;
}

/** "k=v" lines as an attributes object (undefined when there are none). */
export function parseAttributes(text) {
  const out = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) throw new Error(`attribute line "${line}" is not key=value`);
    out[line.slice(0, at)] = line.slice(at + 1);
  }
  return Object.keys(out).length ? out : undefined;
}

/** Asks in the page's modal dialog; resolves true when confirmed. */
export function confirmAction(text, action = "Confirm") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = action;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

/** The value of a form's named control, trimmed; undefined when empty. */
export function value(form, name) {
  const el = form.elements[name];
  if (!el) return undefined;
  if (el.type === "checkbox") return el.checked;
  const v = el.value.trim();
  return v === "" ? undefined : v;
}

/** A link inside the console. */
export function link(hash, text) {
  return h("a", { href: hash }, text);
}
