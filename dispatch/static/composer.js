/* The campaign composer's live preview: SMS parts and encoding, the no-diacritics variant and
   cost per operator (POST /api/preview/sms), recipients of the chosen audience, and phone-shaped
   previews of the SMS and of the app notification. The text previewed is the SMS as sent (POST
   /campaigns/estimate/text: the survey's question appended, braces undoubled), and a text with
   placeholders is rendered for the audience's first recipients (the draft page's figures): its
   parts and cost are those of the rendered texts, never of the template itself.
   Text goes in with textContent only. */
(function () {
  "use strict";

  var form = document.getElementById("composer");
  if (!form || !window.Loa) { return; }
  var T = JSON.parse(document.getElementById("composer-i18n").textContent);
  var P = JSON.parse(document.getElementById("personal-i18n").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var recipients = null;  // {operator: count} of the chosen audience, null until known
  var textTimer = null, audienceTimer = null, lastRequest = 0;

  function value(name) {
    var el = form.elements[name];
    return el ? el.value : "";
  }
  function checked(name) {
    var el = form.elements[name];
    return !!(el && el.checked);
  }
  function chosen(name) {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="' + name + '"]'),
      function (el) { return el.checked; }).map(function (el) { return el.value; });
  }
  function channels() {
    var picked = chosen("channels");
    return picked.length ? picked[0] : "sms";
  }
  function money(n) { return Loa.num(n) + " " + T.currency; }
  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }
  function cell(row, text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) { td.className = "num"; }
    row.appendChild(td);
  }

  /* Sections for a channel not chosen are hidden (without JS, every field shows). */
  function showChannels() {
    var current = channels();
    Array.prototype.forEach.call(document.querySelectorAll("[data-channel]"), function (el) {
      var kind = el.getAttribute("data-channel");
      el.classList.toggle("hidden", !(current === "both" || current === kind));
    });
  }

  function renderPhone(preview) {
    var plain = checked("sms_plain");
    var variant = plain ? preview.plain : preview.original;
    var thread = $("pv-thread");
    clear(thread);
    variant.segments.filter(function (segment) { return segment !== ""; }).forEach(function (segment, i) {
      var bubble = document.createElement("div");
      bubble.className = "bubble";
      bubble.textContent = segment;
      if (variant.segments.length > 1) {
        var part = document.createElement("span");
        part.className = "part";
        part.textContent = Loa.fmt(T.part, { n: i + 1, total: variant.segments.length });
        bubble.appendChild(part);
      }
      thread.appendChild(bubble);
    });
    $("pv-phone-sender").textContent = value("sms_sender").trim() || "—";
    return variant;
  }

  function renderForcing(preview) {
    var box = $("pv-forcing");
    clear(box);
    /* The variant that will be sent: with không dấu selected, the original's diacritics force
       nothing; only a character left in the plain text (an emoji, a foreign letter) would. */
    var o = checked("sms_plain") ? preview.plain : preview.original;
    if (!o || o.encoding !== "ucs2" || !o.forcing_char) { return; }
    var mark = document.createElement("mark");
    mark.className = "forcing";
    mark.textContent = o.forcing_char;
    var parts = Loa.fmt(T.forcing, { char: "\u0000", pos: o.forcing_index + 1 }).split("\u0000");
    box.appendChild(document.createTextNode(parts[0]));
    box.appendChild(mark);
    box.appendChild(document.createTextNode(parts[1] || ""));
  }

  function renderCosts(preview) {
    var plain = checked("sms_plain");
    var body = $("pv-costs"), foot = $("pv-total");
    clear(body); clear(foot);
    $("pv-saving").textContent = "";
    if (!preview.totals) { return; }
    preview.operators.forEach(function (row) {
      var billed = plain ? row.plain : row.original;
      var tr = document.createElement("tr");
      cell(tr, T.operators[row.operator] || row.operator);
      cell(tr, Loa.num(row.recipients), true);
      cell(tr, Loa.num(billed.parts), true);
      cell(tr, money(billed.cost), true);
      body.appendChild(tr);
    });
    var t = plain ? preview.totals.plain : preview.totals.original;
    var tr = document.createElement("tr");
    cell(tr, T.total); cell(tr, Loa.num(preview.totals.recipients), true);
    cell(tr, Loa.num(t.parts), true); cell(tr, money(t.cost), true);
    foot.appendChild(tr);
    var saving = preview.totals.cost_saving;
    if (!plain && preview.differs && saving > 0) {
      $("pv-saving").textContent = Loa.fmt(T.saving, {
        parts: Loa.num(preview.totals.original.parts - preview.totals.plain.parts), cost: money(saving) });
    } else if (!plain && preview.differs && saving < 0) {
      $("pv-saving").textContent = Loa.fmt(T.more, { cost: money(-saving) });
    }
  }

  function render(preview) {
    var variant = renderPhone(preview);
    $("pv-parts").textContent = variant.text ? Loa.num(variant.parts) : "—";
    $("pv-encoding").textContent = variant.encoding === "ucs2" ? T.ucs2 : T.gsm7;
    $("pv-chars").textContent = Loa.num(Array.from(variant.text).length);
    renderForcing(preview);
    var plainNote = "";
    if (checked("sms_plain") && preview.differs) {
      plainNote = T.sending_plain;
    } else if (preview.differs) {
      plainNote = Loa.fmt(T.plain, { parts: Loa.num(preview.plain.parts),
        encoding: preview.plain.encoding === "ucs2" ? T.ucs2 : T.gsm7 });
    }
    if (variant.parts > 0) {
      plainNote += (plainNote ? " " : "") + Loa.fmt(T.remaining, { n: Loa.num(variant.remaining) });
    }
    $("pv-plain").textContent = plainNote;
    renderCosts(preview);
  }

  function asksSurvey() { return (chosen("reply_mode")[0] || "none") === "survey"; }
  /* Braces or a survey's question make the SMS as sent differ from the text as typed. */
  function needsServer(text) { return /[{}]/.test(text) || asksSurvey(); }

  function audienceParams() {
    var params = new URLSearchParams();
    ["lists", "exclude_lists", "localities"].forEach(function (name) {
      chosen(name).forEach(function (v) { params.append(name, v); });
    });
    if (checked("all_app_users")) { params.append("all_app_users", "1"); }
    return params;
  }

  /* The SMS as the draft's page previews it: {text: as sent, personal: figures or null}. */
  function sentText(text) {
    var box = $("pv-personal");
    if (!box || !needsServer(text)) { return Promise.resolve({ text: text, personal: null }); }
    var body = { sms_text: text, sms_plain: checked("sms_plain"),
                 reply_mode: chosen("reply_mode")[0] || "none",
                 survey_question: value("survey_question"), survey_choices: value("survey_choices"),
                 lists: chosen("lists"), exclude_lists: chosen("exclude_lists"),
                 localities: chosen("localities"), all_app_users: checked("all_app_users") };
    return Loa.json(box.getAttribute("data-estimate-url"), { body: body })
      .catch(function () { return { text: text, personal: null }; });
  }

  function bubble(text, className) {
    var div = document.createElement("div");
    div.className = "bubble " + className;
    div.textContent = text;
    return div;
  }

  /* The rendered texts' figures in place of the template's: parts (a range when recipients
     differ), the cost table per operator, and the box of placeholders, samples and parts. */
  function renderPersonal(pers) {
    var box = $("pv-personal");
    if (!box) { return; }
    box.classList.toggle("hidden", !pers);
    box.removeAttribute("data-parts");
    if (!pers) { return; }
    var names = pers.placeholders.map(function (p) {
      return "{" + p.name + "}" + (p.default !== null ? " (" + Loa.fmt(P.default, { value: p.default }) + ")" : "");
    });
    $("pv-placeholders").textContent = P.placeholders + " " + names.join(", ");
    $("pv-sampled").textContent = pers.complete ? "" :
      Loa.fmt(P.sampled, { n: Loa.num(pers.recipients + pers.missing_value) });
    var samples = $("pv-samples");
    clear(samples);
    pers.samples.forEach(function (s) {
      samples.appendChild(bubble(s.text, "sample"));
      var who = document.createElement("p");
      who.className = "small muted";
      who.textContent = s.msisdn + " · " + Loa.fmt(P.parts, { n: s.parts });
      samples.appendChild(who);
    });
    $("pv-longest-label").textContent = pers.longest ? Loa.fmt(P.longest, { n: pers.longest.parts }) : "";
    $("pv-longest").textContent = pers.longest ? pers.longest.text : "";
    $("pv-longest").classList.toggle("hidden", !pers.longest);
    var hist = $("pv-histogram");
    clear(hist);
    var counts = Object.keys(pers.parts_histogram).map(Number).sort(function (a, b) { return a - b; });
    counts.forEach(function (parts) {
      var tr = document.createElement("tr");
      cell(tr, Loa.num(parts), true);
      cell(tr, Loa.num(pers.parts_histogram[String(parts)]), true);
      hist.appendChild(tr);
    });
    $("pv-personal-total").textContent = Loa.fmt(P.total, { n: Loa.num(pers.recipients),
      parts: Loa.num(pers.parts), cost: money(pers.cost_vnd) });
    $("pv-missing").textContent = pers.missing_value ?
      Loa.fmt(P.missing, { n: Loa.num(pers.missing_value) }) : "";
    if (counts.length) {
      var low = counts[0], high = counts[counts.length - 1];
      $("pv-parts").textContent = low === high ? Loa.num(low) : Loa.num(low) + "–" + Loa.num(high);
      box.setAttribute("data-parts", low + "-" + high);
    }
    if (pers.longest) { $("pv-chars").textContent = Loa.num(Array.from(pers.longest.text).length); }
    var encodings = Object.keys(pers.encodings || {}).sort();  // gsm7 before ucs2
    if (encodings.length) {
      $("pv-encoding").textContent = encodings.map(function (e) {
        return e === "ucs2" ? T.ucs2 : T.gsm7; }).join(" / ");
    }
    /* The template's own notes (characters left, the forcing character) say nothing of the
       rendered texts. */
    $("pv-plain").textContent = checked("sms_plain") ? T.sending_plain : "";
    clear($("pv-forcing"));
    /* The cost table: what these recipients' texts cost, per operator. */
    var body = $("pv-costs"), foot = $("pv-total");
    clear(body); clear(foot);
    $("pv-saving").textContent = "";
    Object.keys(pers.by_operator).sort().forEach(function (op) {
      var row = pers.by_operator[op];
      var tr = document.createElement("tr");
      cell(tr, T.operators[op] || op);
      cell(tr, Loa.num(row.recipients), true);
      cell(tr, Loa.num(row.parts), true);
      cell(tr, money(row.cost_vnd), true);
      body.appendChild(tr);
    });
    var tr = document.createElement("tr");
    cell(tr, T.total); cell(tr, Loa.num(pers.recipients), true);
    cell(tr, Loa.num(pers.parts), true); cell(tr, money(pers.cost_vnd), true);
    foot.appendChild(tr);
  }

  function previewText() {
    var typed = value("sms_text").replace(/\r\n/g, "\n").trim();
    var sender = value("sms_sender").trim();
    var mine = ++lastRequest;
    sentText(typed).then(function (sent) {
      if (mine !== lastRequest) { return; }  // a newer keystroke's answer is on its way
      var text = sent.text;
      var body = { text: text, sender: sender || null, recipients: recipients };
      function show(preview) {
        if (mine !== lastRequest) { return; }
        render(preview);
        renderPersonal(sent.personal);
      }
      Loa.json(form.getAttribute("data-preview-url"), { body: body }).then(function (preview) {
        if (mine !== lastRequest) { return; }
        $("pv-sender").textContent = "";
        show(preview);
      }).catch(function (err) {
        if (mine !== lastRequest) { return; }
        var errors = (err.data && err.data.errors) || {};
        if (errors.sender) {
          $("pv-sender").textContent = errors.sender.join(" ");
          // Preview the text anyway, without the brandname check.
          var retry = { text: text, sender: null, recipients: recipients };
          Loa.json(form.getAttribute("data-preview-url"), { body: retry }).then(show);
        } else {
          $("pv-sender").textContent = (err.data && err.data.message) || T.error;
        }
      });
    });
  }

  function renderPush() {
    $("pv-push-title").textContent = value("push_title");
    $("pv-push-body").textContent = value("push_body");
  }

  function estimate() {
    var params = audienceParams();
    params.append("channels", channels());
    Loa.json(form.getAttribute("data-estimate-url") + "?" + params.toString()).then(function (data) {
      recipients = data.sms;
      var list = $("pv-localities");
      clear(list);
      (data.localities || []).forEach(function (row) {
        var li = document.createElement("li");
        var n = row.sms !== undefined ? row.sms : row.push;
        li.textContent = Loa.fmt(T.locality, { name: row.name, n: Loa.num(n) });
        list.appendChild(li);
      });
      $("pv-recipients").textContent = data.sms === null ? "" :
        (data.sms_total ? Loa.fmt(T.recipients, { n: Loa.num(data.sms_total) }) : T.none);
      $("pv-devices").textContent = data.push === null ? "" : Loa.fmt(T.devices, { n: Loa.num(data.push) });
      previewText();
    }).catch(function () { $("pv-recipients").textContent = T.error; });
  }

  form.addEventListener("input", function (event) {
    var name = event.target.name;
    if (name === "sms_text" || name === "sms_sender" ||
        ((name === "survey_question" || name === "survey_choices") && asksSurvey())) {
      window.clearTimeout(textTimer);
      textTimer = window.setTimeout(previewText, 250);
    } else if (name === "push_title" || name === "push_body") {
      renderPush();
    }
  });
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "channels") { showChannels(); }
    if (["lists", "exclude_lists", "localities", "all_app_users", "channels"].indexOf(name) !== -1) {
      window.clearTimeout(audienceTimer);
      audienceTimer = window.setTimeout(estimate, 200);
    }
    if (name === "sms_plain" || name === "reply_mode") { previewText(); }
  });

  showChannels();
  renderPush();
  estimate();
}());
