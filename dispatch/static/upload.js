/* Contact import: a progress bar while the file uploads; the import itself runs as a job and
   its page (which follows) shows its progress. Without JavaScript the form posts as usual. */
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var box = document.getElementById("upload-progress");
  var bar = box.querySelector("progress");
  var note = box.querySelector("p");

  function pct(done, size) { return size ? Math.min(100, Math.round(100 * done / size)) : 0; }
  function show(kind, value) {
    bar.value = value;
    note.textContent = window.Loa.fmt(note.getAttribute("data-" + kind), { pct: value + " %" });
  }

  form.addEventListener("submit", function (event) {
    if (!window.XMLHttpRequest || !window.FormData || event.defaultPrevented) { return; }
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { show("uploading", pct(e.loaded, e.total)); }
    });
    request.upload.addEventListener("load", function () { show("processing", 100); });
    request.addEventListener("load", function () {
      // The server answered with the report page (after its redirect): go there.
      window.location.assign(request.responseURL || window.location.href);
    });
    request.addEventListener("error", function () {
      form.submit();
    });
    box.classList.remove("hidden");
    form.querySelector("button[type=submit]").disabled = true;
    show("uploading", 0);
    request.send(new FormData(form));
  });
}());
