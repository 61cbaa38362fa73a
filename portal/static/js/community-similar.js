// The ask page: similar questions and FAQ entries appear as the title is typed
// (debounced). Without JavaScript the "Check for similar questions" button does the same.
(function () {
  "use strict";
  var input = document.querySelector("[data-similar-url]");
  var box = document.getElementById("live-similar");
  if (!input || !box || !window.fetch) {
    return;
  }
  var list = box.querySelector(".community-live-similar__list");
  var url = input.getAttribute("data-similar-url");
  var timer = null;
  var last = "";
  var controller = null;

  function show(html) {
    list.innerHTML = html; // the server's fragment: every text in it is escaped
    box.hidden = html.trim() === "";
  }

  function lookUp() {
    var text = input.value.trim();
    if (text === last) {
      return;
    }
    last = text;
    if (text.length < 2) {
      show("");
      return;
    }
    if (controller) {
      controller.abort();
    }
    controller = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(text), {
      credentials: "same-origin",
      headers: {"Accept": "text/html"},
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(show).catch(function () { /* a failed look-up leaves the last list */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(lookUp, 300);
  });
}());
