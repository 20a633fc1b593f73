// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-reply-to]");
    if (!link) return;
    var field = document.getElementById("reply-to");
    var body = document.getElementById("f-body");
    if (!field || !body) return;
    event.preventDefault();
    field.value = link.getAttribute("data-reply-to");
    var note = document.getElementById("replying-to");
    if (note) note.textContent = "↪ " + link.getAttribute("data-reply-name");
    body.focus();
    body.scrollIntoView({ block: "center" });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  }, true);

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "reply") {
      var posts = document.querySelectorAll("#post-list > li");
      if (posts.length) posts[posts.length - 1].classList.add("just-posted");
    }
  });
})();
