/* Keep a conversation's transcript fresh: the server renders it (every text escaped); this swaps it in. */
(function () {
  "use strict";
  var box = document.querySelector("[data-lines]");
  if (!box) return;
  var url = box.getAttribute("data-lines");
  setInterval(function () {
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null && html !== box.innerHTML) box.innerHTML = html; })
      .catch(function () { /* offline for a moment: the next poll retries */ });
  }, 3000);
})();
