// A [data-print] button prints the page. Hidden until this script runs, so nobody
// without JavaScript meets a button that does nothing.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
