/* Contact import: a progress bar while the file uploads, then while its rows are checked.
   Without JavaScript the form posts as usual and the report page follows all the same. */
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var box = document.getElementById("upload-progress");
  var bar = box.querySelector("progress");
  var note = box.querySelector("p");
  var polling = null;

  function pct(done, size) { return size ? Math.min(100, Math.round(100 * done / size)) : 0; }
  function show(kind, value) {
    bar.value = value;
    note.textContent = window.Loa.fmt(note.getAttribute("data-" + kind), { pct: value + " %" });
  }

  form.addEventListener("submit", function (event) {
    if (!window.XMLHttpRequest || !window.FormData || event.defaultPrevented) { return; }
    event.preventDefault();
    var key = Array.from(window.crypto.getRandomValues(new Uint8Array(12)),
      function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    form.elements.progress_key.value = key;
    var progressUrl = form.getAttribute("data-import-progress-url").replace("KEY", key);
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { show("uploading", pct(e.loaded, e.total)); }
    });
    request.upload.addEventListener("load", function () {
      show("processing", 0);
      polling = window.setInterval(function () {
        window.Loa.json(progressUrl).then(function (data) { show("processing", pct(data.done, data.size)); })
          .catch(function () { /* the report page follows anyway */ });
      }, 700);
    });
    request.addEventListener("load", function () {
      window.clearInterval(polling);
      // The server answered with the report page (after its redirect): go there.
      window.location.assign(request.responseURL || window.location.href);
    });
    request.addEventListener("error", function () {
      window.clearInterval(polling);
      form.submit();
    });
    box.classList.remove("hidden");
    form.querySelector("button[type=submit]").disabled = true;
    show("uploading", 0);
    request.send(new FormData(form));
  });
}());
