// The session form: the meeting link only while the type is virtual, and the chosen
// semester's location and groups. The server enforces all of it; this only keeps the
// form tidy. A hidden link field is disabled, so it is not submitted.
(function () {
  "use strict";
  var form = document.getElementById("session-form");
  if (!form) return;
  var type = form.querySelector("[name=session_type]");
  var link = form.querySelector("[name=meeting_link]");
  var linkRow = document.getElementById("row-meeting_link");
  var semester = form.querySelector("select[name=semester]");
  var location = form.querySelector("[name=location]");
  var locationHelp = document.getElementById("id_location_helptext");
  var group = form.querySelector("select[name=group]");

  function toggleLink() {
    if (!type || !linkRow) return;
    var virtual = type.value === "virtual";
    var keepForError = linkRow.classList.contains("has-error") && link.value;
    linkRow.classList.toggle("is-hidden", !virtual && !keepForError);
    link.disabled = !virtual && !keepForError;
  }

  function showSemester() {
    if (!semester) return;
    var option = semester.options[semester.selectedIndex];
    if (!option) return;
    var where = option.getAttribute("data-location") || "";
    if (location) location.placeholder = where;
    if (locationHelp) {
      locationHelp.textContent = where
        ? "Leave blank to use the semester's location (" + where + ")."
        : "Leave blank to use the semester's location.";
    }
    if (group) {
      Array.prototype.forEach.call(group.options, function (item) {
        var owner = item.getAttribute("data-semester");
        var foreign = owner !== null && owner !== semester.value;
        item.hidden = foreign;
        item.disabled = foreign;
        if (foreign && item.selected) group.value = "";
      });
    }
  }

  if (type) type.addEventListener("change", toggleLink);
  if (semester) semester.addEventListener("change", showSemester);
  toggleLink();
  showSemester();
})();

// "Repeat": the dates preview refreshed as the rule or the times change, from the same
// server-side dry run as the "Preview dates" button (an HTML fragment). Without this
// script the button does the same with a full page.
(function () {
  "use strict";
  var form = document.getElementById("session-form");
  var preview = document.getElementById("series-preview");
  if (!form || !preview || !form.getAttribute("data-preview-url")) return;
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var latest = 0;
  var watched = /^(repeat-|date_start$|date_end$|semester$|session_type$|location$)/;

  function refresh() {
    var ticket = ++latest;
    var body = new FormData(form);
    body.set("action", "preview");
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        // Only the answer to the latest change is shown.
        if (html !== null && ticket === latest) preview.innerHTML = html;
      })
      .catch(function () {
        /* The "Preview dates" button still works. */
      });
  }

  function changed(event) {
    if (!event.target.name || !watched.test(event.target.name)) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
})();
