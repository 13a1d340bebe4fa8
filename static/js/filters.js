// Filter forms marked data-autosubmit apply as soon as a choice changes; without
// JavaScript their Apply button does the same. A file of its own, not an inline
// script: the Content-Security-Policy allows only scripts served from this site.
(function () {
  "use strict";
  var FOCUS_KEY = "practica-filter-focus";
  var DATE_PAUSE_MS = 900; // a date typed digit by digit is "complete" several times

  function submit(form, field) {
    // After the reload, focus returns to the field the person was using.
    try { sessionStorage.setItem(FOCUS_KEY, field.id); } catch (e) { /* storage off */ }
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    var timer = null;
    form.addEventListener("change", function (event) {
      var field = event.target;
      if (field.type === "search") return; // Enter searches; leaving the box does not
      clearTimeout(timer);
      if (field.type === "date") {
        timer = setTimeout(function () { submit(form, field); }, DATE_PAUSE_MS);
      } else {
        submit(form, field);
      }
    });
    form.addEventListener("input", function (event) {
      if (event.target.type === "date" && timer) {
        clearTimeout(timer);
        timer = setTimeout(function () { submit(form, event.target); }, DATE_PAUSE_MS);
      }
    });
  });

  document.querySelectorAll("[data-autosubmit-hint]").forEach(function (hint) {
    hint.hidden = false;
  });

  var focusId = null;
  try {
    focusId = sessionStorage.getItem(FOCUS_KEY);
    sessionStorage.removeItem(FOCUS_KEY);
  } catch (e) { /* storage off */ }
  var field = focusId && document.getElementById(focusId);
  // An error summary takes the focus first: it says what to fix.
  if (field && !document.getElementById("error-summary")) field.focus();
})();
