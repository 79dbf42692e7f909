// live.js draws the frontend's calls to the backend pods as they happen. It asks /api/live
// once a second for a small batch of calls, made both on fresh connections and over the
// keep-alive pool, and keeps the last minute of them: one lane per pod and per view, with
// its count, average latency and latest calls, retries and failures marked, pods that
// appear or go away flagged. It is served from the frontend itself (the page's
// Content-Security-Policy allows no inline script) and builds the page with DOM calls and
// textContent only, so nothing the backend answers is ever parsed as HTML.
"use strict";

(function () {
  const POLL_MS = 1000; // one batch a second
  const WINDOW_MS = 60000; // the lanes count the last minute
  const NEW_MS = 5000; // a pod first seen this recently, after the page's first calls, is "new"
  const GONE_MS = 4000; // a pod unseen this long while others answer is "gone"
  const TICKS = 24; // latest calls shown per lane
  const MODES = [
    ["fresh", "fresh connection per call"],
    ["keepalive", "keep-alive pool"],
  ];

  const root = document.getElementById("live");
  if (!root) {
    return;
  }
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  };
  const found = document.getElementById("live-found");
  const hint = document.getElementById("live-hint");
  const status = document.getElementById("live-status");
  const views = {};
  for (const [mode] of MODES) {
    views[mode] = root.querySelector('.view[data-mode="' + mode + '"] .lanes');
  }

  let calls = []; // {t, mode, pod, addr, status, error, attempts, latency}
  let balancing = ""; // "client": one address per pod, worth showing in each lane
  let started = 0; // when the first batch came in: the pods seen then are not "new"
  const firstSeen = new Map(); // pod -> time first seen
  let total = 0;
  let paused = false;
  let timer = 0;

  const pauseButton = document.getElementById("live-pause");
  if (pauseButton) {
    pauseButton.addEventListener("click", () => {
      paused = !paused;
      pauseButton.textContent = paused ? "resume" : "pause";
      if (!paused) {
        schedule(0);
      }
    });
  }
  // A tab in the background asks for nothing: several open tabs cost the frontend only
  // the one being looked at.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      schedule(0);
    }
  });

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  async function poll() {
    if (paused || document.hidden) {
      status.textContent = paused ? "paused" : "paused while the tab is hidden";
      return;
    }
    let next = POLL_MS;
    try {
      const res = await fetch("/api/live", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (res.status === 429) {
        const after = Number(res.headers.get("Retry-After")) || 1;
        status.textContent = "the frontend is busy with other live pages; retrying in " + after + " s";
        next = after * 1000;
      } else if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        status.textContent = "GET /api/live answered " + res.status + (body.error ? ": " + body.error : "");
        next = 2 * POLL_MS;
      } else {
        take(await res.json());
      }
    } catch (err) {
      status.textContent = "the frontend does not answer (" + err.message + "); retrying";
      next = 2 * POLL_MS;
    }
    schedule(next);
  }

  function take(view) {
    const now = Date.now();
    started = started || now;
    for (const c of view.calls) {
      calls.push({
        t: now,
        mode: c.mode,
        pod: c.pod,
        addr: c.addr,
        status: c.status,
        error: c.error || "",
        attempts: c.attempts,
        latency: c.latency_ms,
      });
      if (c.pod && !firstSeen.has(c.pod)) {
        firstSeen.set(c.pod, now);
      }
      total++;
    }
    calls = calls.filter((c) => now - c.t <= WINDOW_MS);
    const d = view.discovery;
    balancing = d.balancing;
    found.textContent = d.source
      ? "found via " + d.source + (d.name ? " (" + d.name + ")" : "") + ": " + d.addrs.join(", ")
      : "no address found yet";
    hint.textContent = view.hint;
    draw(now);
    const failed = view.calls.filter((c) => !c.pod).length;
    status.textContent =
      "live: " + view.calls.length + " calls a second, " + total + " so far" +
      (failed ? ", " + failed + " of the last batch failed" : "") + "; lanes count the last minute";
  }

  function draw(now) {
    // Both views list the same pods, in the same order, so a lane left empty in one of them
    // shows at a glance which pods it never reached.
    const lastSeen = new Map();
    for (const c of calls) {
      if (c.pod) {
        lastSeen.set(c.pod, Math.max(lastSeen.get(c.pod) || 0, c.t));
      }
    }
    const newest = Math.max(0, ...lastSeen.values());
    const pods = [...lastSeen.keys()].sort();
    for (const [mode] of MODES) {
      const mine = calls.filter((c) => c.mode === mode);
      const lanes = pods.map((pod) => lane(pod, mine.filter((c) => c.pod === pod), mine.length, {
        isNew: firstSeen.get(pod) > started && now - firstSeen.get(pod) < NEW_MS,
        gone: newest - lastSeen.get(pod) > GONE_MS,
      }));
      const failed = mine.filter((c) => !c.pod);
      if (failed.length > 0) {
        lanes.push(lane("failed", failed, mine.length, { failed: true }));
      }
      views[mode].replaceChildren(...lanes);
    }
  }

  function lane(pod, mine, all, flags) {
    const row = el("div", "lane");
    row.dataset.pod = pod;
    row.dataset.count = String(mine.length);
    if (flags.failed) {
      row.classList.add("failed");
    }
    if (flags.gone) {
      row.classList.add("gone");
    }
    const head = el("div", "head");
    head.append(el("span", "pod", pod));
    if (flags.isNew) {
      head.append(el("span", "badge new", "new"));
    }
    if (flags.gone) {
      head.append(el("span", "badge gone", "gone"));
    }
    row.append(head);

    const bar = el("div", "bar");
    const fill = el("div", "fill");
    // CSSOM, not a style attribute: the policy allows it, and it is no inline style.
    fill.style.width = (all ? (100 * mine.length) / all : 0).toFixed(1) + "%";
    bar.append(fill);
    row.append(bar);

    const retried = mine.filter((c) => c.attempts > 1).length;
    const ok = mine.filter((c) => c.pod);
    const avg = ok.length ? ok.reduce((s, c) => s + c.latency, 0) / ok.length : 0;
    let text = mine.length + (mine.length === 1 ? " call" : " calls");
    if (ok.length) {
      text += " \u00b7 " + ms(avg) + " avg";
    }
    if (retried) {
      text += " \u00b7 " + retried + " retried";
    }
    // Behind a ClusterIP every lane has the one address; with a pod per address, each its own.
    const addrs = [...new Set(ok.map((c) => c.addr))];
    if (balancing === "client" && addrs.length) {
      text += " \u00b7 at " + addrs.join(", ");
    }
    if (flags.failed && mine.length) {
      text += " \u00b7 " + mine[mine.length - 1].status + " " + mine[mine.length - 1].error;
    }
    row.append(el("div", "stats", text));

    const ticks = el("div", "ticks");
    for (const c of mine.slice(-TICKS)) {
      const tick = el("span", "tick " + (!c.pod ? "bad" : c.attempts > 1 ? "retry" : "ok"));
      tick.title = (c.pod ? c.pod + " at " + c.addr : c.status + " " + c.error) +
        ", " + ms(c.latency) + ", " + c.attempts + (c.attempts === 1 ? " attempt" : " attempts");
      ticks.append(tick);
    }
    row.append(ticks);
    return row;
  }

  function ms(v) {
    return v < 10 ? v.toFixed(2) + " ms" : v.toFixed(0) + " ms";
  }

  schedule(0);
})();
