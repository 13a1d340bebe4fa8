// Copy buttons: a button with data-copy-target="<input id>" copies that input's value.
// A file of its own, not an inline script: the Content-Security-Policy allows only
// scripts served from this site.
(function () {
  "use strict";
  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) return;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        input.select();
      });
    } else {
      // Plain http (development): select the text for the person to copy.
      input.focus();
      input.select();
      if (document.execCommand && document.execCommand("copy")) done();
    }
  }
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () { copy(button); });
  });
})();
