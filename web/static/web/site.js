// Progressive enhancement for the pages; everything works without this file.
// Upload forms (sent by htmx) show how far the files have gone.
(function () {
  "use strict";

  function progressOf(element) {
    var form = element && element.closest ? element.closest("form.upload") : null;
    return form ? form.querySelector(".upload-progress") : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var bar = progressOf(event.target);
    if (bar) {
      bar.value = 0;
      bar.hidden = false;
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = progressOf(event.target);
    if (bar && event.detail.lengthComputable) {
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var bar = progressOf(event.target);
    if (bar) {
      bar.hidden = true;
    }
  });

  // After htmx replaces a section, move focus to its heading so screen readers hear the result.
  document.addEventListener("htmx:afterSwap", function (event) {
    var section = event.detail.target;
    if (!section || !section.querySelector) {
      return;
    }
    var status = document.getElementById(section.id) || section;
    var heading = status.querySelector("[role=status], [role=alert], h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  });
})();
