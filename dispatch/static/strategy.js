/* The composer's channel strategy: SMS for all against SMS to the numbers the app does not
   cover, and the saving (POST /campaigns/estimate/strategy); per channel in a table with the rows
   of the approval page (campaigns/_strategy_reach.html). Text goes in with textContent only. */
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

  function row(body, key, recipients, parts, cost) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-strategy-row", key);
    [T.rows[key], Loa.num(recipients), parts === null ? "—" : Loa.num(parts), money(cost)]
      .forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i > 0) { td.className = "num"; }
        tr.appendChild(td);
      });
    body.appendChild(tr);
  }

  /* Cost per channel: SMS to everyone, SMS sent directly, (the fallback at most), the app. */
  function renderTable(strategy, data) {
    var wrap = document.getElementById("pv-strategy-table");
    var body = document.getElementById("pv-strategy-rows");
    if (!wrap || !body) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    wrap.classList.toggle("hidden", strategy === "both");
    if (strategy === "both") { return; }
    var all = data.sms_all, direct = data.sms_direct;
    row(body, "sms-all", all.recipients, all.parts, all.cost_vnd);
    row(body, "sms-direct", direct.recipients, direct.parts, direct.cost_vnd);
    if (strategy === "app_then_sms") {
      row(body, "sms-fallback", all.recipients - direct.recipients, all.parts - direct.parts,
          all.cost_vnd - direct.cost_vnd);
    }
    row(body, "app", data.app_covered, null, 0);
  }

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
    renderTable(strategy, data);
  }

  function estimate() {
    var text = form.elements.sms_text, plain = form.elements.sms_plain,
        all = form.elements.all_app_users;
    var body = { lists: chosen("lists"), exclude_lists: chosen("exclude_lists"),
                 localities: chosen("localities"), all_app_users: !!(all && all.checked),
                 sms_plain: !!(plain && plain.checked), sms_text: text ? text.value : "" };
    var mine = ++last;
    Loa.json(box.getAttribute("data-estimate-url"), { body: body }).then(function (data) {
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
