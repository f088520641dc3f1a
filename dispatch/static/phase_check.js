/* The composer's phase check: as the phase or the send time changes, warn when the campaign
   would go out outside the chosen phase's dates (a warning, never a block). The words come from
   the page (the server's catalog); dates are compared as local YYYY-MM-DD days. */
(function () {
  "use strict";

  var box = document.getElementById("outside-phase-live");
  var form = document.getElementById("composer");
  if (!box || !form) { return; }
  var phase = form.elements.phase_id, sendAt = form.elements.send_at;
  var saved = document.getElementById("outside-phase");

  function check() {
    var option = phase && phase.options[phase.selectedIndex];
    var first = option ? option.getAttribute("data-first") : "";
    var last = option ? option.getAttribute("data-last") : "";
    var when = sendAt && sendAt.value ? sendAt.value.slice(0, 10) : "";
    var day = when || box.getAttribute("data-today");
    var outside = !!option && !!option.value && ((first && day < first) || (last && day > last));
    if (outside) {
      var shown = day.split("-").reverse().join("/");
      var words = box.getAttribute(when ? "data-scheduled" : "data-now");
      box.querySelector("[data-phase]").textContent = option.textContent;
      box.querySelector("[data-day]").textContent = words.replace("{day}", shown);
    }
    box.classList.toggle("hidden", !outside);
  }

  function changed() {
    if (saved) { saved.parentNode.removeChild(saved); saved = null; }  // it showed the saved state
    check();
  }

  if (phase) { phase.addEventListener("change", changed); }
  if (sendAt) { sendAt.addEventListener("change", changed); sendAt.addEventListener("input", changed); }
  if (!saved) { check(); }
})();
