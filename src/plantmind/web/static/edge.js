// The edge page (plantmind/web/static/edge.js): assets and health, signal charts (raw samples
// from the ring, minute aggregates from the store when zoomed out), alerts with the operator's
// actions, inspection results and the review queue, the assistant, events and forwarding.
// Plain JS, no library, no external request. Data from the API is only ever put into the page
// as text (textContent, attributes), never as HTML: alert messages and document text are data.
"use strict";

// ---- small DOM helpers -----------------------------------------------------------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}
const $ = (id) => document.getElementById(id);
const setText = (id, s) => { const e = $(id); if (e) e.textContent = s; };

// ---- sign-in ------------------------------------------------------------------------------
// The token comes in the URL fragment (#token=...), which browsers never send to a server, or
// from the sign-in box; it is kept in sessionStorage for this tab, and the fragment is removed
// from the address bar.
const TOKEN_KEY = "plantmind.token";
let TOKEN = (() => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
})();

class AuthError extends Error {}
let signedOut = false;
const timers = [];

function showSignIn(reason) {
  signedOut = true;
  timers.splice(0).forEach(clearTimeout);
  $("app").hidden = true;
  $("signout").hidden = true;
  document.body.classList.add("signed-out");
  setText("who", "");
  $("signin").hidden = false;
  setText("signin-msg", reason === "missing"
    ? "You are not signed in: this page needs a token to show the plant's data."
    : "Your sign-in token was not accepted: it was revoked, or it belongs to another node or " +
      "to an earlier run of the demo. Sign in with a current token.");
  $("token-input").focus();
}

$("signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token-input").value.trim();
  if (!t) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  TOKEN = t;
  $("token-input").value = "";
  start();
});
$("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  TOKEN = "";
  showSignIn("missing");
});

// ---- API ----------------------------------------------------------------------------------
async function api(url, opts) {
  opts = Object.assign({}, opts || {});
  opts.headers = Object.assign({}, opts.headers || {}, {"Authorization": "Bearer " + TOKEN});
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers["Content-Type"] = "application/json";
    delete opts.json;
  }
  const r = await fetch(url, opts);
  if (r.status === 401) { showSignIn("stale"); throw new AuthError("sign-in needed"); }
  if (!r.ok) {
    let detail = r.status + " " + r.statusText;
    try {
      const body = await r.json();
      if (body && body.detail) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (e) { /* not JSON */ }
    const err = new Error(detail); err.status = r.status; throw err;
  }
  return r;
}
const getJSON = async (url, opts) => (await api(url, opts)).json();

// Poll fn every ms, never two at once; stops on sign-out.
let generation = 0;  // one per sign-in: pollers of an earlier one stop
function every(ms, fn) {
  const mine = generation;
  const run = async () => {
    if (signedOut || mine !== generation) return;
    try { await fn(); } catch (e) { if (e instanceof AuthError) return; }
    if (!signedOut && mine === generation) timers.push(setTimeout(run, ms));
  };
  run();
}

// ---- time: the site's clock -----------------------------------------------------------------
// Plant time (alerts, samples) and wall time (inspections, forwarding) are both epoch seconds:
// both are shown in the site's time zone from plant.yaml.
let TZ = "UTC";
let fmtFull = null, fmtHM = null, fmtDay = null;
function setTimeZone(tz) {
  try { new Intl.DateTimeFormat("en-GB", {timeZone: tz}); TZ = tz; } catch (e) { TZ = "UTC"; }
  const base = {timeZone: TZ, hourCycle: "h23"};
  fmtFull = new Intl.DateTimeFormat("en-CA", Object.assign({year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit"}, base));
  fmtHM = new Intl.DateTimeFormat("en-GB", Object.assign({hour: "2-digit", minute: "2-digit"}, base));
  fmtDay = new Intl.DateTimeFormat("en-GB", Object.assign({day: "2-digit", month: "short"}, base));
  setText("tz", "(" + TZ + ")");
}
setTimeZone("UTC");
const fmtTime = (ts) => (ts === null || ts === undefined) ? "–" : fmtFull.format(new Date(ts * 1000)).replace(",", "");
const fmtClock = (ts) => fmtHM.format(new Date(ts * 1000));
function fmtAgo(s) {
  if (s === null || s === undefined) return "–";
  if (s < 90) return Math.round(s) + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " d";
}
function fmtNum(v) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  const a = Math.abs(v);
  return a >= 1e5 || (a > 0 && a < 1e-3) ? v.toExponential(2) : String(+v.toPrecision(4));
}

// ---- state --------------------------------------------------------------------------------
const selected = new Set();
let signalsMeta = {};
let assetsList = [];
let principal = null;
let stats = {};
let windowS = 600;
const canAct = () => principal && (principal.role !== "viewer");
const plantNow = () => (stats.last_ts || Date.now() / 1000);

// ---- assets and health ----------------------------------------------------------------------
async function loadAssets() {
  const [plant, assets, sigs] = await Promise.all([getJSON("/api/plant"), getJSON("/api/assets"), getJSON("/api/signals")]);
  setText("plant", plant.name);
  document.title = plant.name + " · plantmind edge";
  const site = (plant.sites || []).find((s) => assets.length && s.id === assets[0].site) || (plant.sites || [])[0];
  setTimeZone(site && site.timezone ? site.timezone : "UTC");
  signalsMeta = {};
  sigs.forEach((s) => { signalsMeta[s.id] = s; });
  assetsList = assets;
  const box = $("assets");
  box.replaceChildren();
  selected.clear();
  assets.forEach((a, ai) => {
    const div = el("div", {class: "asset"},
      el("div", {}, el("span", {class: "name", text: a.id}), " ", el("span", {class: "dim", text: a.name}),
        el("span", {class: "badge", id: "badge-" + a.id, hidden: true})),
      el("div", {class: "health", id: "health-" + a.id}));
    a.signals.forEach((sid, si) => {
      const cb = el("input", {type: "checkbox"});
      if (ai === 0 && si < 3) { cb.checked = true; selected.add(sid); }
      cb.addEventListener("change", () => { cb.checked ? selected.add(sid) : selected.delete(sid); renderChartSlots(); refreshCharts(); });
      const m = signalsMeta[sid] || {};
      div.append(el("label", {class: "sig", title: sid}, cb, m.name || sid.split(".").slice(1).join(".") || sid));
    });
    box.append(div);
  });
  for (const id of ["f-asset", "ask-asset"]) {
    const sel = $(id);
    while (sel.options.length > 1) sel.remove(1);
    assets.forEach((a) => sel.append(el("option", {value: a.id, text: a.id + " · " + a.name})));
  }
  renderChartSlots();
}

function fmtLife(v, unit) {
  if (v === null || v === undefined) return "–";
  const toS = {s: 1, min: 60, h: 3600, d: 86400}[unit || "s"];
  if (!toS) return `${Math.round(v)} ${unit}`;
  const s = v * toS;
  return s >= 172800 ? `${(s / 86400).toFixed(1)} d` : s >= 7200 ? `${(s / 3600).toFixed(1)} h` : s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`;
}

// the health's trend: arrow, word and rate (points per day when slow, per hour when fast)
function fmtTrend(h) {
  if (!h.trend) return "";
  const arrow = {falling: "↘", rising: "↗", stable: "→"}[h.trend] || "";
  const perH = h.trend_per_hour;
  if (h.trend === "stable" || perH === null || perH === undefined) return `${arrow} stable`;
  const sign = perH > 0 ? "+" : "−";
  const rate = Math.abs(perH) < 2 ? `${sign}${Math.abs(perH * 24).toFixed(1)}/d` : `${sign}${Math.abs(perH).toFixed(0)}/h`;
  return `${arrow} ${h.trend} ${rate}`;
}

async function refreshHealth() {
  let rows;
  try { rows = await getJSON("/api/health"); } catch (e) { if (e instanceof AuthError) throw e; return; }
  rows.forEach((h) => {
    const box = $("health-" + h.asset_id);
    if (!box) return;
    if (h.health === null || h.health === undefined) { box.textContent = "health: " + (h.method || "–"); box.title = h.note || ""; return; }
    const cls = h.health >= 75 ? "good" : h.health >= 40 ? "fair" : "poor";
    const parts = ["health ", el("b", {class: cls, text: String(Math.round(h.health)), "data-raw": h.health_raw})];
    const trend = fmtTrend(h);
    if (trend) parts.push(" ", el("span", {class: "trend " + h.trend, text: trend}));
    if (h.rul !== null && h.rul !== undefined) {
      parts.push(` · RUL ${fmtLife(h.rul, h.unit)} (${fmtLife(h.rul_low, h.unit)}–${fmtLife(h.rul_high, h.unit)})`);
      // a life on a declared clock (e.g. the demo's simulated wear) says so
      if (h.rul_basis && h.rul_basis !== "plant operating time") parts.push(" ", el("span", {class: "dim", text: "(sim. basis)", title: h.rul_basis}));
    }
    const left = (h.excluded_signals || []).map((x) => x.signal);
    if (left.length) parts.push(el("div", {class: "dim", text: "left out (sensor check): " + left.join(", ")}));
    if (h.alert_consistent === false) parts.push(el("div", {class: "dim", text: h.note}));
    box.replaceChildren(...parts);
    box.title = [h.note, h.health_raw === null || h.health_raw === undefined ? "" : `this cycle: ${Math.round(h.health_raw)}`, h.rul_basis ? "life: " + h.rul_basis : ""].filter(Boolean).join("\n");
  });
}

async function refreshStats() {
  stats = await getJSON("/api/stats");
  setText("scored", (stats.samples_scored || 0).toLocaleString("en-GB"));
  setText("dropped", (stats.samples_dropped || 0).toLocaleString("en-GB"));
  setText("open", String(stats.open_alerts));
  setText("clock", fmtTime(stats.last_ts));
}

// ---- charts ---------------------------------------------------------------------------------
function renderChartSlots() {
  const box = $("charts");
  box.replaceChildren();
  if (!selected.size) { box.append(el("p", {class: "empty", text: "Tick signals on the left to chart them."})); return; }
  selected.forEach((sid) => {
    const m = signalsMeta[sid] || {};
    box.append(el("div", {class: "chart"},
      el("div", {class: "title"},
        el("span", {}, el("b", {text: sid}), " ", el("span", {text: (m.name || "") + (m.unit ? " (" + m.unit + ")" : "")})),
        el("b", {id: "v-" + sid, text: "–"})),
      el("canvas", {id: "c-" + sid, "data-signal": sid, role: "img", "aria-label": "chart of " + sid})));
  });
}

function niceStep(span, n) {
  const raw = span / Math.max(n, 1);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}
const TIME_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

// Draw one chart: x from now - windowS to now (plant time); aggregates as a min-max envelope
// and mean, raw samples as a line, the learned range as a band, alerts as red shading from
// their opening to their end (now while ongoing), only where they overlap the window.
function draw(canvas, raw, agg, meta, marks, t0, t1) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600, cssH = canvas.clientHeight || 170;
  canvas.width = Math.round(cssW * dpr); canvas.height = Math.round(cssH * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const L = 58, R = 8, T = 8, B = 22;
  const W = cssW - L - R, H = cssH - T - B;
  const vals = [];
  raw.forEach((p) => vals.push(p[1]));
  agg.forEach((b) => { vals.push(b.min, b.max); });
  const lr = meta && meta.learned_range;
  if (lr) vals.push(lr[0], lr[1]);
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = "#8d99a6";
  if (!vals.length) { ctx.fillText("no data in this window", L + 8, T + 20); return; }
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
  const X = (t) => L + (t - t0) / (t1 - t0) * W;
  const Y = (v) => T + H - (v - lo) / (hi - lo) * H;
  // grid and y labels
  const ys = niceStep(hi - lo, 4);
  ctx.strokeStyle = "#1f262e"; ctx.lineWidth = 1; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (let v = Math.ceil(lo / ys) * ys; v <= hi; v += ys) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + W, y); ctx.stroke();
    ctx.fillText(fmtNum(Math.abs(v) < ys / 1e6 ? 0 : v), L - 6, y);
  }
  // time axis: ticks at round local minutes/hours
  const step = TIME_STEPS.find((s) => (t1 - t0) / s <= Math.max(3, Math.floor(W / 75))) || 86400;
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  const offs = tzOffsetS(t1);
  const ticks = [];
  for (let t = Math.ceil((t0 + offs) / step) * step - offs; t <= t1; t += step) {
    const x = Math.round(X(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, T + H + 4); ctx.stroke();
    const label = (step >= 86400 || (t1 - t0 > 43200 && fmtClock(t) === "00:00")) ? fmtDay.format(new Date(t * 1000)) : fmtClock(t);
    if (x > L + 14 && x < L + W - 14) { ctx.fillText(label, x, T + H + 5); ticks.push(label); }
  }
  ctx.save();
  ctx.beginPath(); ctx.rect(L, T, W, H); ctx.clip();
  if (lr) {
    ctx.fillStyle = "rgba(63,185,80,0.12)";
    ctx.fillRect(L, Y(lr[1]), W, Y(lr[0]) - Y(lr[1]));
  }
  const shaded = [];
  marks.forEach(([a, b]) => {
    if (b < t0 || a > t1) return;  // outside the window (e.g. ended before it): no stripe
    const ta = Math.max(a, t0), tb = Math.min(b, t1);
    ctx.fillStyle = "rgba(248,81,73,0.20)";
    ctx.fillRect(X(ta), T, Math.max(2, X(tb) - X(ta)), H);
    shaded.push([ta, tb]);
  });
  // what was drawn, for screen readers and the browser tests
  Object.assign(canvas.dataset, {t0: String(t0), t1: String(t1), ticks: ticks.join(" "),
    raw: String(raw.length), buckets: String(agg.length), marks: JSON.stringify(shaded)});
  canvas.setAttribute("aria-label", `${canvas.dataset.signal}: ${fmtTime(t0)} to ${fmtTime(t1)} (${TZ}), ` +
    `${shaded.length} alert period${shaded.length === 1 ? "" : "s"}`);
  if (agg.length) {
    // one step per bucket, from its start to its end (b.end: cut where the raw samples begin)
    const steps = (key) => agg.flatMap((b) => [[b.start, b[key]], [b.end, b[key]]]);
    const hiPts = steps("max"), loPts = steps("min").reverse(), mean = steps("mean");
    ctx.fillStyle = "rgba(88,166,255,0.22)";
    ctx.beginPath();
    hiPts.concat(loPts).forEach(([t, v], i) => { i ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v)); });
    ctx.closePath(); ctx.fill();
    ctx.strokeStyle = "rgba(88,166,255,0.8)"; ctx.lineWidth = 1; ctx.beginPath();
    mean.forEach(([t, v], i) => { i ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v)); });
    ctx.stroke();
  }
  if (raw.length) {
    ctx.strokeStyle = "#58a6ff"; ctx.lineWidth = 1.5; ctx.beginPath();
    raw.forEach(([t, v], i) => { i ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v)); });
    ctx.stroke();
  }
  ctx.restore();
  ctx.strokeStyle = "#2a333d"; ctx.strokeRect(L + 0.5, T + 0.5, W, H);
}

// seconds the site's zone is ahead of UTC at ts (for ticks on round local hours)
function tzOffsetS(ts) {
  const d = new Date(ts * 1000);
  const parts = {};
  fmtFull.formatToParts(d).forEach((p) => { parts[p.type] = p.value; });
  const local = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
  return Math.round((local - d.getTime()) / 1000 / 60) * 60;
}

let windowAlerts = [];
async function refreshCharts() {
  if (!selected.size) return;
  const t1 = plantNow(), t0 = t1 - windowS;
  const found = await api(`/api/alerts?limit=500&since=${t0}`);
  windowAlerts = await found.json();
  for (const sid of selected) {
    const c = $("c-" + sid);
    if (!c) continue;
    const q = encodeURIComponent(sid);
    const [s, agg] = await Promise.all([
      getJSON(`/api/signals/${q}/samples?limit=20000&since=${t0}`),
      getJSON(`/api/signals/${q}/aggregates?since=${t0 - 300}`),
    ]);
    const raw = s.ts.map((t, i) => [t, s.value[i]]).filter((p) => p[1] !== null && p[0] >= t0);
    // minute buckets only where the ring has no raw samples (older than its first one)
    const firstRaw = raw.length ? raw[0][0] : Infinity;
    // bucket width: the smallest step between stored buckets (60 s unless configured)
    let width = Infinity;
    for (let i = 1; i < agg.length; i++) width = Math.min(width, agg[i].start - agg[i - 1].start);
    if (!isFinite(width) || width <= 0) width = 60;
    const buckets = agg.filter((b) => b.start < firstRaw && b.start + width > t0)
      .map((b) => Object.assign({}, b, {start: Math.max(b.start, t0), end: Math.min(b.start + width, firstRaw)}));
    const marks = windowAlerts.filter((a) => a.signals.includes(sid)).map((a) =>
      [a.opened_at, a.state === "resolved" ? (a.resolved_at || a.last_active_at) : t1]);
    draw(c, raw, buckets, signalsMeta[sid], marks, t0, t1);
    const last = raw.length ? raw[raw.length - 1][1] : null;
    setText("v-" + sid, last === null ? "–" : fmtNum(last) + " " + ((signalsMeta[sid] || {}).unit || ""));
  }
}
document.querySelectorAll(".zoom button").forEach((b) => b.addEventListener("click", () => {
  windowS = +b.dataset.window;
  document.querySelectorAll(".zoom button").forEach((x) => x.classList.toggle("on", x === b));
  refreshCharts().catch(() => {});
}));
let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => { refreshCharts().catch(() => {}); }, 200);
});

// ---- alerts ---------------------------------------------------------------------------------
const PAGE = 20;
let alertOffset = 0;
let alertsKey = "";
const drafts = {};  // alert id -> comment being typed (kept across refreshes)
const NAME_KEY = "plantmind.operator";
$("op-name").value = localStorage.getItem(NAME_KEY) || "";
$("op-name").addEventListener("input", () => localStorage.setItem(NAME_KEY, $("op-name").value.trim()));
for (const id of ["f-open", "f-asset", "f-severity"]) $(id).addEventListener("change", () => { alertOffset = 0; refreshAlerts(); });
$("prev").addEventListener("click", () => { alertOffset = Math.max(0, alertOffset - PAGE); refreshAlerts(); });
$("next").addEventListener("click", () => { alertOffset += PAGE; refreshAlerts(); });

const ACTION_WORDS = {"alert.acknowledged": "Acknowledged", "alert.resolved": "Resolved", "alert.false_alarm": "False alarm"};

async function act(a, what, comment) {
  const name = $("op-name").value.trim();
  if (!name) { setText("alerts-msg", "Enter your name above first: it is kept with your action."); $("op-name").focus(); return; }
  setText("alerts-msg", "");
  try {
    await getJSON(`/api/alerts/${encodeURIComponent(a.id)}/${what}`, {method: "POST", json: {name: name, comment: comment}});
    delete drafts[a.id];
  } catch (e) {
    if (e instanceof AuthError) return;
    setText("alerts-msg", `Could not ${what.replace("-", " ")} the alert on ${a.asset_id}: ${e.message}`);
  }
  alertsKey = "";
  await refreshAlerts();
  refreshEvents().catch(() => {});
}

// Probable causes from the plant's work orders and the procedure passage, each with its
// citation (details written by assist/cause.py; cited as the assistant cites, citeText below);
// "no similar work order" is said, not hidden.
const citeOf = (c) => c ? " [" + citeText(c) + "]" : "";
function causeBlock(d) {
  const lk = d.cause_lookup;
  if (!lk) return null;  // not looked up yet: the card is redrawn when it is
  const causes = d.probable_causes || [];
  const box = el("div", {class: "causes"}, el("b", {text: causes.length ? "Probable cause (work orders): " : "Probable cause: "}));
  if (!causes.length) box.append(lk.note || lk.error || "no similar work order in the history");
  else box.append(el("ul", {class: "causes-list"}, ...causes.map((c) => el("li", {},
    el("b", {text: `${c.work_order}${c.date ? " (" + c.date + ")" : ""}${c.kind === "sensor" ? " · sensor" : ""}: `}),
    [c.symptom, c.cause ? "cause: " + c.cause : null, c.action ? "action: " + c.action : null].filter(Boolean).join(" · "),
    el("span", {class: "cite", text: citeOf(c.citation)})))));
  const passages = [d.procedure, ...(d.procedure_also || [])].filter(Boolean);
  const proc = el("div", {class: "procedure"}, el("b", {text: "Procedure: "}));
  if (!passages.length) proc.append(lk.procedure_note || "no passage found in the documents");
  else passages.forEach((p) => proc.append(el("div", {},
    el("span", {class: "cite", text: citeOf(p.citation).trim() + " "}),
    ...p.text.split("\n").map((line) => el("div", {class: "passage", text: line})))));
  return el("div", {class: "cause-block"}, box, proc);
}

function alertCard(a) {
  const d = a.details || {};
  const card = el("div", {class: `alert ${a.severity} ${a.state}`, "data-alert": a.id},
    el("div", {}, el("b", {text: a.asset_id}),
      el("span", {class: "pill " + a.severity, text: a.severity}),
      d.category ? el("span", {class: "pill " + d.category, text: d.category}) : null,
      el("span", {class: "pill", text: a.false_alarm ? "false alarm" : a.state})),
    el("div", {class: "msgtext", text: a.message}),
    d.recommended_check ? el("div", {class: "check"}, el("b", {text: "Check: "}), d.recommended_check) : null,
    causeBlock(d),
    el("div", {class: "meta", text: `${fmtTime(a.opened_at)} → ${a.state === "resolved" ? fmtTime(a.resolved_at) : "ongoing"} · ${a.signals.join(", ")}`}));
  const acts = d.actions || [];
  if (acts.length) {
    card.append(el("ul", {class: "actions"}, ...acts.map((n) => el("li", {class: "action"},
      `${ACTION_WORDS[n.action] || n.action} by `, el("b", {class: "who", text: n.name || "?"}),
      ` at ${fmtTime(n.at)}`, n.comment ? el("span", {class: "comment", text: ": “" + n.comment + "”"}) : null))));
  }
  if (a.state !== "resolved" && canAct()) {
    const comment = el("input", {type: "text", class: "comment-input", maxlength: 2000, placeholder: "comment (what you found or did)", "aria-label": "comment on the alert on " + a.asset_id});
    comment.value = drafts[a.id] || "";
    comment.addEventListener("input", () => { drafts[a.id] = comment.value; });
    const btn = (label, what) => el("button", {type: "button", "data-a": what, text: label, onclick: () => act(a, what, comment.value.trim())});
    card.append(el("div", {class: "act"}, comment,
      a.state === "open" ? btn("Acknowledge", "acknowledge") : null, btn("Resolve", "resolve"), btn("False alarm", "false-alarm")));
  }
  return card;
}

async function refreshAlerts() {
  const box = $("alerts");
  // do not redraw under an operator who is typing a comment
  if (box.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
  const p = new URLSearchParams({limit: PAGE, offset: alertOffset});
  if ($("f-open").checked) p.set("open", "true");
  if ($("f-asset").value) p.set("asset", $("f-asset").value);
  if ($("f-severity").value) p.set("severity", $("f-severity").value);
  const r = await api("/api/alerts?" + p.toString());
  const total = +(r.headers.get("X-Total-Count") || 0);
  const rows = await r.json();
  if (!rows.length && alertOffset > 0 && total > 0) { alertOffset = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE); return refreshAlerts(); }
  const key = JSON.stringify([rows, total, alertOffset, canAct()]);
  if (key !== alertsKey) {
    alertsKey = key;
    box.replaceChildren(...(rows.length ? rows.map(alertCard) : [el("p", {class: "empty", text: "No alerts match."})]));
  }
  setText("alerts-count", total ? `${total} alert${total === 1 ? "" : "s"}` : "");
  setText("page-info", total ? `${alertOffset + 1}–${alertOffset + rows.length} of ${total}` : "");
  $("prev").disabled = alertOffset === 0;
  $("next").disabled = alertOffset + rows.length >= total;
  const perAsset = {};
  (await getJSON("/api/assets")).forEach((a) => { perAsset[a.id] = a.open_alerts; });
  document.querySelectorAll(".badge").forEach((b) => {
    const n = perAsset[b.id.slice(6)] || 0; b.hidden = !n; b.textContent = n ? String(n) : "";
  });
}

// ---- inspection -----------------------------------------------------------------------------
const overlays = new Map();  // inspection id -> object URL of its overlay (fetched with the token)
async function overlayURL(r) {
  if (overlays.has(r.id)) return overlays.get(r.id);
  const blob = await (await api(r.overlay_url)).blob();
  const url = URL.createObjectURL(blob);
  overlays.set(r.id, url);
  return url;
}
function tile(r, withButtons) {
  const img = el("img", {alt: `overlay of inspection ${r.id}`, "data-id": r.id});
  overlayURL(r).then((u) => { img.src = u; }).catch(() => { img.alt = "no overlay"; });
  const t = el("div", {class: "tile " + r.verdict, "data-inspection": r.id}, img,
    el("div", {}, el("b", {text: r.verdict}), ` · score ${fmtNum(r.score)}`),
    el("div", {class: "dim", text: `${r.station} · ${fmtTime(r.ts)}`}),
    r.label ? el("div", {text: `reviewed: ${r.label}${r.reviewed_by ? " by " + r.reviewed_by : ""}`}) : null);
  if (withButtons && canAct()) {
    const review = async (label) => {
      setText("inspect-msg", "");
      try { await getJSON(`/api/inspect/results/${encodeURIComponent(r.id)}/review`, {method: "POST", json: {label: label}}); }
      catch (e) { if (!(e instanceof AuthError)) setText("inspect-msg", `Review not saved: ${e.message}`); }
      inspectKey = ""; refreshInspection().catch(() => {});
    };
    t.append(el("div", {class: "row"},
      el("button", {type: "button", class: "good", text: "Good", onclick: () => review("good")}),
      el("button", {type: "button", class: "bad", text: "Defect", onclick: () => review("defect")})));
  }
  return t;
}
let inspectKey = "";
async function refreshInspection() {
  let queue, results, stations;
  try {
    [stations, queue, results] = await Promise.all([
      getJSON("/api/inspect/stations"), getJSON("/api/inspect/reviews?limit=24"), getJSON("/api/inspect/results?limit=12")]);
  } catch (e) {
    if (e instanceof AuthError) throw e;
    setText("inspect-msg", e.status === 503 ? e.message : `Inspection unavailable: ${e.message}`);
    return;
  }
  setText("inspect-msg", "");
  setText("stations", stations.map((s) => `${s.id}${s.model ? "" : " (no model)"}`).join(", ") || "no station");
  const key = JSON.stringify([queue, results, canAct()]);
  if (key === inspectKey) return;
  inspectKey = key;
  setText("queue-count", queue.length ? `(${queue.length})` : "");
  $("queue").replaceChildren(...(queue.length ? queue.map((r) => tile(r, true)) : [el("p", {class: "empty", text: "Nothing to review."})]));
  $("results").replaceChildren(...(results.length ? results.map((r) => tile(r, false)) : [el("p", {class: "empty", text: "No inspections yet."})]));
}

// ---- assistant ------------------------------------------------------------------------------
function citeText(c) {
  return [c.source, c.page !== null && c.page !== undefined ? "p. " + c.page : null, c.section].filter(Boolean).join(" · ");
}
function renderAnswer(ans) {
  const box = $("answer");
  const parts = [];
  if (ans.declined) parts.push(el("p", {class: "declined", text: "Not found in the plant documents" + (ans.decline_reason ? ": " + ans.decline_reason : ".")}));
  parts.push(el("div", {class: "text", text: ans.answer}));
  if (ans.citations && ans.citations.length) {
    parts.push(el("h3", {text: "Sources"}), el("ol", {class: "citations"}, ...ans.citations.map((c) => el("li", {class: "citation", text: citeText(c)}))));
  }
  const ctx = ans.context;
  if (ctx) {
    parts.push(el("h3", {text: `Live context: ${ctx.asset} · ${ctx.name}`}));
    const al = ctx.open_alerts || [];
    parts.push(el("ul", {class: "live-alerts"}, ...(al.length ? al.map((a) => el("li", {text: `[${a.severity}] ${a.message}`})) : [el("li", {class: "dim", text: "no open alerts"})])));
    const rd = (ctx.readings || []).filter((r) => r.value !== null && r.value !== undefined);
    if (rd.length) {
      parts.push(el("table", {class: "readings"}, el("tbody", {}, ...rd.map((r) => el("tr", {},
        el("td", {text: r.name}), el("td", {class: r.status, text: `${fmtNum(r.value)} ${r.unit}`}),
        el("td", {class: "dim", text: `normal ${fmtNum(r.low)}–${fmtNum(r.high)}`}), el("td", {class: r.status, text: r.status}))))));
    }
    const wo = ctx.work_orders || [];
    if (wo.length) parts.push(el("h3", {text: "Recent work orders"}), el("ul", {}, ...wo.map((w) => el("li", {text: w.text || w.summary || w.section || JSON.stringify(w)}))));
  }
  if (ans.model_used) parts.push(el("p", {class: "dim", text: "answered by: " + ans.model_used}));
  box.replaceChildren(...parts);
}
$("ask-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("ask-q").value.trim();
  if (!q) return;
  const body = {question: q};
  if ($("ask-asset").value) body.asset = $("ask-asset").value;
  $("ask-btn").disabled = true;
  $("answer").replaceChildren(el("p", {class: "dim", text: "Looking it up…"}));
  try { renderAnswer(await getJSON("/assist/ask", {method: "POST", json: body})); }
  catch (e) { if (!(e instanceof AuthError)) $("answer").replaceChildren(el("p", {class: "declined", text: "No answer: " + e.message})); }
  finally { $("ask-btn").disabled = false; }
});

// ---- events, audit, forwarding ---------------------------------------------------------------
$("f-ops").addEventListener("change", () => { refreshEvents().catch(() => {}); });
async function refreshEvents() {
  const [events, fwd] = await Promise.all([getJSON("/api/events?limit=100"), getJSON("/api/forwarding")]);
  const ops = $("f-ops").checked;
  const rows = events.filter((e) => !ops || e.operator || e.kind in ACTION_WORDS && e.data && e.data.by !== "auto");
  $("events").tBodies[0].replaceChildren(...rows.map((e) => el("tr", {class: "event", "data-kind": e.kind},
    el("td", {class: "t", text: fmtTime(e.ts)}), el("td", {text: e.kind}), el("td", {text: e.asset_id || ""}),
    el("td", {text: e.message}),
    el("td", {class: "operator"}, e.operator ? el("b", {text: e.operator.name || ""}) : "",
      e.operator && e.operator.comment ? ": “" + e.operator.comment + "”" : ""))));
  renderForwarding(fwd);
}
function renderForwarding(f) {
  const box = $("forwarding");
  if (!f.configured) {
    box.replaceChildren(el("span", {text: "Not forwarding: this node has no uplink to a hub."}));
    setText("fwd-badge", "off");
    return;
  }
  if (f.error) { box.replaceChildren(el("span", {class: "bad", text: f.error})); setText("fwd-badge", "?"); return; }
  const last = f.last_delivered, fail = f.last_failed;
  const failing = fail && (!last || fail.ts > last.ts);
  const items = [
    el("span", {}, "backlog ", el("b", {class: "fwd-queued", text: `${f.queued} event${f.queued === 1 ? "" : "s"}`}), ` (${(f.queued_bytes / 1024).toFixed(1)} KiB)`),
    el("span", {}, "oldest queued ", el("b", {text: f.backlog_age_s === null ? "–" : fmtAgo(f.backlog_age_s)})),
    el("span", {}, "last forwarded ", el("b", {class: "fwd-last", text: last ? `${fmtTime(last.ts)} (${fmtAgo(f.last_delivered_ago_s)} ago)` : "never"}),
      last ? ` to ${last.destination}` : ""),
    el("span", {}, "delivered ", el("b", {text: String(f.delivered)})),
  ];
  const dropped = Object.values(f.dropped || {}).reduce((s, n) => s + n, 0);
  if (dropped) items.push(el("span", {class: "bad", text: `dropped ${dropped} (outbox over budget)`}));
  if (failing) items.push(el("span", {class: "bad", text: `last attempt failed ${fmtTime(fail.ts)}: ${fail.error || "?"}`}));
  box.replaceChildren(...items);
  setText("fwd-badge", failing ? "failing" : f.queued ? `${f.queued} queued` : "up to date");
}

// ---- start ----------------------------------------------------------------------------------
async function start() {
  generation += 1;
  signedOut = false;
  if (!TOKEN) { showSignIn("missing"); return; }
  try { principal = await getJSON("/api/whoami"); }
  catch (e) { if (!(e instanceof AuthError)) { $("signin").hidden = false; setText("signin-msg", "The node did not answer: " + e.message); } return; }
  $("signin").hidden = true;
  document.body.classList.remove("signed-out");
  $("app").hidden = false;
  $("signout").hidden = false;
  setText("who", `signed in: ${principal.label || principal.token_id} (${principal.role})`);
  await loadAssets();
  await refreshStats().catch(() => {});
  every(2000, refreshStats);
  // the 10-minute view follows the ring every 2 s; zoomed out, minute buckets change slowly
  let lastDraw = 0;
  every(2000, async () => {
    if (windowS > 600 && Date.now() - lastDraw < 10000) return;
    lastDraw = Date.now();
    await refreshCharts();
  });
  every(3000, refreshAlerts);
  every(5000, refreshHealth);
  every(5000, refreshInspection);
  every(5000, refreshEvents);
  every(10000, async () => { (await getJSON("/api/signals")).forEach((s) => { signalsMeta[s.id] = s; }); });
}
start();
