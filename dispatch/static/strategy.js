/* The composer's channel strategy: SMS for all against SMS to the numbers the app does not
   cover, and the saving (GET /campaigns/estimate/strategy). Text goes in with textContent only. */
(function () {
  "use strict";

  var form = document.getElementById("composer");
  var box = document.getElementById("strategy");
  if (!form || !box || !window.Loa) { return; }
  var T = JSON.parse(document.getElementById("strategy-i18n").textContent);
  var out = document.getElementById("pv-strategy");
  var timer = null, last = 0;

  function chosen(name) {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="' + name + '"]'),
      function (el) { return el.checked; }).map(function (el) { return el.value; });
  }
  function money(n) { return Loa.num(n) + " " + T.currency; }

  function render(data) {
    var strategy = chosen("strategy")[0] || "both";
    var all = Loa.fmt(T.all, { n: Loa.num(data.sms_all.recipients), cost: money(data.sms_all.cost_vnd) });
    if (strategy === "app_first") {
      out.textContent = all + " " + Loa.fmt(T.app_first, { covered: Loa.num(data.app_covered),
        n: Loa.num(data.sms_direct.recipients), cost: money(data.sms_direct.cost_vnd),
        saving: money(data.saving_vnd) });
    } else if (strategy === "app_then_sms") {
      out.textContent = all + " " + Loa.fmt(T.app_then_sms, { covered: Loa.num(data.app_covered),
        n: Loa.num(data.sms_direct.recipients), max: Loa.num(data.sms_all.recipients),
        saving: money(data.saving_vnd) });
    } else {
      out.textContent = all;
    }
    out.setAttribute("data-saving", strategy === "both" ? "0" : String(data.saving_vnd));
  }

  function estimate() {
    var params = new URLSearchParams();
    ["lists", "exclude_lists", "localities"].forEach(function (name) {
      chosen(name).forEach(function (v) { params.append(name, v); });
    });
    var all = form.elements.all_app_users;
    if (all && all.checked) { params.append("all_app_users", "1"); }
    var plain = form.elements.sms_plain;
    if (plain && plain.checked) { params.append("sms_plain", "1"); }
    params.append("sms_text", (form.elements.sms_text || { value: "" }).value);
    var mine = ++last;
    Loa.json(box.getAttribute("data-estimate-url") + "?" + params.toString()).then(function (data) {
      if (mine === last) { render(data); }
    }).catch(function () { if (mine === last) { out.textContent = T.error; } });
  }

  function later() { window.clearTimeout(timer); timer = window.setTimeout(estimate, 300); }
  form.addEventListener("change", later);
  form.addEventListener("input", function (event) {
    if (event.target.name === "sms_text") { later(); }
  });
  estimate();
}());
