// Small behaviours shared by every page, wired here because the Content-Security-Policy allows
// no inline script and no onclick= attributes (app/core/security_headers.py).
(function () {
  // Read-only address fields select their whole text on click, ready to copy.
  document.querySelectorAll("[data-select-on-click]").forEach(function (field) {
    field.addEventListener("click", function () { field.select(); });
  });
  // Forms that ask before they submit (data-confirm holds the question).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Print buttons on the printable pages.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
