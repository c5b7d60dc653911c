// Progress of background link jobs, and a confirmation before unlinking.
(function () {
  "use strict";
  document.querySelectorAll("[data-progress-url]").forEach(function (box) {
    var bar = box.querySelector("progress");
    var linked = box.querySelector("[data-linked]");
    var state = box.querySelector("[data-state]");
    function poll() {
      fetch(box.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (job) {
          bar.value = job.progress;
          linked.textContent = job.linked;
          state.textContent = job.state;
          if (job.done) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    if (bar.value < 100 && !box.querySelector(".errornote")) { window.setTimeout(poll, 1000); }
  });
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
