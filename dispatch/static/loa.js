/* Loa pages: confirmations, live progress, and the JSON helper the other scripts use.
   No inline handlers anywhere (CSP script-src 'self'); text goes in with textContent only. */
(function () {
  "use strict";

  var lang = document.documentElement.lang === "en" ? "en-US" : "vi-VN";
  var numbers = new Intl.NumberFormat(lang);
  var decimals = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* fetch JSON with the session cookie; state-changing calls carry the CSRF token header. */
  function json(url, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
    }
    return fetch(url, {
      method: options.method || (options.body !== undefined ? "POST" : "GET"),
      headers: headers,
      credentials: "same-origin",
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { var err = new Error(data.message || response.statusText); err.data = data; throw err; }
        return data;
      });
    });
  }

  function fmt(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  /* Words from the server's catalog (base.html), the same as the server's own durations. */
  var T = { hours: "{h} h {m} min", minutes: "{m} min {s} s", seconds: "{s} s" };
  try { T = JSON.parse(document.getElementById("loa-i18n").textContent); } catch (e) { /* English */ }

  /* A stored note (dispatch.campaigns.notes: "code?name=value&...") in the catalog's words;
     a person's own words as written. */
  function note(text) {
    var at = text.indexOf("?"), code = at < 0 ? text : text.slice(0, at);
    var words = (T.notes || {})[code];
    if (!words || text.indexOf(" ") !== -1) { return text; }
    var values = {};
    new URLSearchParams(at < 0 ? "" : text.slice(at + 1)).forEach(function (v, k) { values[k] = v; });
    if (values.last && (T.reasons || {})[values.last]) { values.last = T.reasons[values.last]; }
    return fmt(words, values);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "—"; }
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
    if (h) { return fmt(T.hours, { h: h, m: m }); }
    if (m) { return fmt(T.minutes, { m: m, s: s }); }
    return fmt(T.seconds, { s: s });
  }

  window.Loa = { json: json, fmt: fmt, num: function (n) { return numbers.format(n || 0); }, csrfToken: csrfToken };

  /* Forms with data-confirm ask first (keyboard users get the browser's own dialog). A POST
     form goes once: an impatient second click (a test send, a launch) while the page waits for
     the answer is dropped, not sent again. The buttons are not disabled, because a disabled
     submitter would leave its name out of what the form sends. */
  var BUSY_MS = 15000;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.getAttribute) { return; }
    if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    form.setAttribute("aria-busy", "true");
    /* A script of the page's own that takes the submit over (and says so) keeps the form free. */
    window.setTimeout(function () {
      if (event.defaultPrevented) { form.removeAttribute("aria-busy"); }
    }, 0);
    /* A person who pressed Stop (or whose answer never came) can send it again after a while:
       the page is still this one, so no answer is on its way any more. */
    window.setTimeout(function () { form.removeAttribute("aria-busy"); }, BUSY_MS);
  });

  /* Back to a page kept in the browser's cache: its forms can be sent again. */
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    Array.prototype.forEach.call(document.querySelectorAll('form[aria-busy="true"]'), function (form) {
      form.removeAttribute("aria-busy");
    });
  });

  /* Live progress: every panel polls the progress API of its campaign. */
  var SENT = ["submitted", "delivered", "partial", "failed", "expired", "unknown"];
  var FINAL_STATUSES = ["completed", "cancelled"];

  function count(byStatus, names) {
    return names.reduce(function (sum, name) { return sum + (byStatus[name] || 0); }, 0);
  }

  function setText(root, name, text) {
    var el = root.querySelector('[data-f="' + name + '"]');
    if (el) { el.textContent = text; }
  }

  function updateFunnel(data) {
    var svg = document.querySelector("[data-funnel]");
    if (!svg) { return; }
    var by = data.by_status || {};
    var span = Number(svg.getAttribute("data-span")) || 220, x0 = Number(svg.getAttribute("data-x")) || 0;
    var rows = {
      total: data.total, sent: count(by, SENT), delivered: count(by, ["delivered", "partial"]),
      failed: count(by, ["failed", "expired"]), unknown: count(by, ["unknown"]),
      suppressed: count(by, ["suppressed", "cancelled"])
    };
    Object.keys(rows).forEach(function (key) {
      var width = data.total ? (span * rows[key] / data.total) : 0;
      var bar = svg.querySelector('[data-bar="' + key + '"]');
      var label = svg.querySelector('[data-bar-label="' + key + '"]');
      if (bar) { bar.setAttribute("width", width.toFixed(1)); }
      if (label) { label.setAttribute("x", (x0 + 6 + width).toFixed(1)); label.textContent = numbers.format(rows[key]); }
    });
  }

  function addRow(body, name, counts) {
    var total = Object.keys(counts).reduce(function (s, k) { return s + counts[k]; }, 0);
    var cells = [name, total, count(counts, SENT), count(counts, ["delivered", "partial"]),
                 count(counts, ["failed", "expired"])];
    var row = document.createElement("tr");
    cells.forEach(function (value, i) {
      var td = document.createElement("td");
      if (i > 0) { td.className = "num"; td.textContent = numbers.format(value); } else { td.textContent = value; }
      row.appendChild(td);
    });
    body.appendChild(row);
  }

  function updateOperators(data, names) {
    var body = document.querySelector("[data-operators]");
    if (!body) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    Object.keys(data.by_operator || {}).sort().forEach(function (op) {
      addRow(body, names[op] || op, data.by_operator[op]);
    });
    /* App notifications go through no operator: their own row, named as the channel. */
    var push = (data.by_channel || {}).push;
    if (push) { addRow(body, names.app || "App", push); }
  }

  /* 07:00 today, or 07:00 03/12/2026 on another day, in Loa's zone. */
  function when(iso, zone) {
    if (!iso) { return "—"; }
    var moment = new Date(iso), options = { timeZone: zone || undefined };
    var day = function (d) { return d.toLocaleDateString("en-CA", options); };
    var time = moment.toLocaleTimeString("en-GB", { timeZone: options.timeZone, hour: "2-digit", minute: "2-digit", hour12: false });
    if (day(moment) === day(new Date())) { return time; }
    var parts = day(moment).split("-");
    return time + " " + parts[2] + "/" + parts[1] + "/" + parts[0];
  }

  /* Why nothing moves (the API's waiting_for code, in the page's words) or how it ended. */
  function progressNote(panel, data) {
    if (data.expanding) { return panel.getAttribute("data-expanding"); }
    if (data.status === "cancelled") {
      return fmt(panel.getAttribute("data-cancelled"), { sent: numbers.format(count(data.by_status || {}, SENT)),
                                                         total: numbers.format(data.total) });
    }
    if (data.waiting_for === "paused" && data.pause_reason) {
      return panel.getAttribute("data-paused") + " " + note(data.pause_reason);
    }
    var text = data.waiting_for ? panel.getAttribute("data-wait-" + data.waiting_for) : null;
    return text ? fmt(text, { time: when(data.waiting_until, panel.getAttribute("data-zone")) }) : "";
  }

  function poll(panel) {
    var url = panel.getAttribute("data-progress-url");
    var initial = panel.getAttribute("data-status");
    var reload = panel.hasAttribute("data-reload-on-change");
    var operatorNames = {};
    try { operatorNames = JSON.parse(document.getElementById("operator-names").textContent); } catch (e) { operatorNames = {}; }
    function tick() {
      json(url).then(function (data) {
        var by = data.by_status || {};
        var cancelled = data.status === "cancelled";
        /* A cancelled campaign shows what was sent, not a settled 100 %. */
        var shown = cancelled ? data.percent_sent : data.percent_done;
        panel.classList.toggle("cancelled", cancelled);
        var bar = panel.querySelector('[data-f="bar"]');
        if (bar) { bar.value = shown; bar.textContent = shown + " %"; }
        setText(panel, "percent", decimals.format(shown) + " %");
        setText(panel, "total", numbers.format(data.total));
        setText(panel, "sent", numbers.format(count(by, SENT)));
        setText(panel, "delivered", numbers.format(count(by, ["delivered", "partial"])));
        setText(panel, "failed", numbers.format(count(by, ["failed", "expired"])));
        setText(panel, "rate", data.rate_per_second === null ? "—" : decimals.format(data.rate_per_second));
        setText(panel, "eta", duration(data.eta_seconds));
        setText(panel, "note", progressNote(panel, data));
        var noteEl = panel.querySelector('[data-f="note"]');
        if (noteEl) { noteEl.setAttribute("data-waiting", data.waiting_for || ""); }
        if (reload) { updateFunnel(data); updateOperators(data, operatorNames); }
        if (reload && data.status !== initial) { window.location.reload(); return; }
        if (FINAL_STATUSES.indexOf(data.status) === -1) { window.setTimeout(tick, 2000); }
      }).catch(function () { window.setTimeout(tick, 10000); });
    }
    if (FINAL_STATUSES.indexOf(initial) === -1) { window.setTimeout(tick, 1000); }
  }

  /* A campaign whose recipients are being frozen: reload once its status has moved on. */
  function watchStatus(el) {
    var url = el.getAttribute("data-status-url");
    var initial = el.getAttribute("data-status");
    function tick() {
      json(url).then(function (data) {
        if (data.status !== initial) { window.location.reload(); return; }
        window.setTimeout(tick, 2000);
      }).catch(function () { window.setTimeout(tick, 10000); });
    }
    window.setTimeout(tick, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-progress-url]"), poll);
    Array.prototype.forEach.call(document.querySelectorAll("[data-status-url]"), watchStatus);
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
}());
